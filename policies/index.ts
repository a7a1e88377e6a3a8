// The CrossGuard entry point: `pulumi preview --policy-pack policies`. Nothing but
// the pack here: `new PolicyPack` starts a gRPC server and never returns.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, packArgs } from "./runners/crossguard";

new PolicyPack(PACK_NAME, packArgs);
