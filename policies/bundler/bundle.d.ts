// Types of bundle.js (plain JavaScript so that policies/ alone builds with esbuild only).
import type { BuildOptions } from "esbuild";
export declare const PACK_DIR: string;
export declare const BUNDLE: string;
export declare const BUNDLE_OPTIONS: BuildOptions;
export declare function bundleText(): Promise<string>;
