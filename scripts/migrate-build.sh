#!/usr/bin/env bash
# Runs one migration build of the MigrationRunner's CodeBuild project on a db-tasks bundle
# (`npm run build:db-tasks`, zipped): uploads the bundle as a new version of the project's S3 source
# object, starts the build on exactly that version, follows it, prints its log, and fails unless it
# succeeds. Called by the migrate workflow with the migrate role; nothing here holds a credential.
# Usage: scripts/migrate-build.sh PROJECT BUNDLE_ZIP   (env: POLL_SECONDS, default 15)
# Exit: 0 the build succeeded · 1 it failed, or a call failed · 2 usage
set -euo pipefail

usage="usage: scripts/migrate-build.sh PROJECT BUNDLE_ZIP"
project="${1:-}"
bundle="${2:-}"
if [ "$project" = "-h" ] || [ "$project" = "--help" ]; then echo "$usage"; exit 0; fi
if [ $# -ne 2 ] || [[ ! "$project" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$ ]]; then
    echo "migrate-build: expected a CodeBuild project name and a bundle file; ${usage}" >&2
    exit 2
fi
if [ ! -s "$bundle" ]; then
    echo "migrate-build: bundle ${bundle} is missing or empty; build it with npm run build:db-tasks and zip build/db-tasks" >&2
    exit 2
fi
poll="${POLL_SECONDS:-15}"

# The project says where its source lives (bucket/key); CI needs no bucket name of its own.
location="$(aws codebuild batch-get-projects --names "$project" --query 'projects[0].source.location' --output text)"
if [[ ! "$location" =~ ^[a-z0-9][a-z0-9.-]+/[A-Za-z0-9/._-]+\.zip$ ]]; then
    echo "::error::project ${project} has no S3 bundle source (source.location: ${location}); deploy the stack first"
    exit 1
fi
bucket="${location%%/*}"
key="${location#*/}"

version="$(aws s3api put-object --bucket "$bucket" --key "$key" --body "$bundle" --query VersionId --output text)"
if [ -z "$version" ] || [ "$version" = "None" ] || [ "$version" = "null" ]; then
    echo "::error::s3://${bucket}/${key} returned no version id (is versioning on?); refusing to start a build on an unpinned source"
    exit 1
fi
echo "Uploaded s3://${bucket}/${key} version ${version}"

build_id="$(aws codebuild start-build --project-name "$project" --source-version "$version" --query build.id --output text)"
echo "Started $build_id"
while :; do
    read -r status group stream < <(aws codebuild batch-get-builds --ids "$build_id" --query 'builds[0].[buildStatus,logs.groupName,logs.streamName]' --output text)
    if [ "$status" != "IN_PROGRESS" ]; then break; fi
    sleep "$poll"
done
if [ -n "${stream:-}" ] && [ "$stream" != "None" ]; then
    echo "::group::Build log"
    aws logs get-log-events --log-group-name "$group" --log-stream-name "$stream" --start-from-head --query 'events[].message' --output text || true
    echo "::endgroup::"
fi
if [ "$status" != "SUCCEEDED" ]; then
    echo "::error::Migration build $build_id ended $status"
    exit 1
fi
echo "Migration build $build_id succeeded"
