/**
 * A CPU profile of one warm run, and what it spends its time on.
 * Part of `npm run measure` (scripts/measureStartup.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HOST_REGISTRIES, ROOT } from "./common";
import { freshCacheDir, hostSample } from "./host";
import { writeFlatProject } from "./programs";

// ---------------------------------------------------------------------------------------------------------------------
// CPU profile of one warm transpile-only program run.

export interface CpuProfileNode {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
}

export interface CpuProfile {
    readonly nodes: readonly CpuProfileNode[];
    readonly samples: readonly number[];
    readonly timeDeltas: readonly number[];
}

export function frameUrl(url: string): string {
    const file = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
    return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

export function frameKey(node: CpuProfileNode): string {
    const { functionName, url, lineNumber } = node.callFrame;
    return url === "" ? functionName : `${functionName || "(anonymous)"} ${frameUrl(url)}:${lineNumber + 1}`;
}

/** Whose time a frame is: the groups the findings talk about. Native frames (no url) count as their JS caller's. */
export function frameArea(node: CpuProfileNode): string {
    const url = frameUrl(node.callFrame.url);
    if (url === "") {
        return node.callFrame.functionName;
    }
    if (url === "node:inspector" || url.includes("runtime/closure/")) {
        return "closure serialization (@pulumi/pulumi runtime/closure, node:inspector)";
    }
    if (url.includes("node_modules/typescript/")) {
        return "TypeScript (typescript.js)";
    }
    if (url.includes("vendor/ts-node") || url.includes("node_modules/ts-node/")) {
        return "ts-node (with its bundled source-map-support)";
    }
    if (url.startsWith("node:internal/modules") || url === "node:vm") {
        return "Node module loading (resolve, read, compile)";
    }
    if (url.startsWith("node:")) {
        return "other Node internals";
    }
    if (url.includes("node_modules/@pulumi/pulumi/")) {
        return "@pulumi/pulumi (other)";
    }
    if (url.includes("node_modules/@pulumi/")) {
        return "provider SDKs (@pulumi/azuread, azure-native, ...)";
    }
    if (url.includes("node_modules/")) {
        return "other packages";
    }
    if (url.startsWith("bin/scripts/")) {
        return "this script's preload (loads @pulumi/pulumi's runtime, as cmd/run does anyway)";
    }
    return "the program's own code";
}

/** Causes a sample's stack can show; they overlap (a stack trace taken inside the program counts for both). */
export const CAUSES: readonly { readonly label: string; readonly matches: (frame: CpuProfileNode) => boolean }[] = [
    {
        label: "running index.ts (its top level, the SDKs it requires, its resources)",
        matches: (f) => frameKey(f) === "(anonymous) index.ts:1",
    },
    {
        label: "loading TypeScript (tsutils.loadTypeScriptCompilerOptions -> typescript-shim)",
        matches: (f) => f.callFrame.url.endsWith("/typescript-shim.js"),
    },
    {
        label: "ts-node register() (reads tsconfig.json)",
        matches: (f) => f.callFrame.functionName === "register" && f.callFrame.url.includes("ts-node"),
    },
    {
        label: "ts-node compiling (cache misses: transpile or type-check)",
        matches: (f) => f.callFrame.url.includes("ts-node") && f.callFrame.functionName === "getOutput",
    },
    {
        label: "closure serialization of dynamic providers",
        matches: (f) => f.callFrame.url === "node:inspector" || f.callFrame.url.includes("runtime/closure/"),
    },
    {
        label: "stack traces (Error.prepareStackTrace, source-mapped)",
        matches: (f) => f.callFrame.functionName === "prepareStackTrace" || f.callFrame.functionName === "prepareStackTraceCallback",
    },
    { label: "garbage collection", matches: (f) => f.callFrame.functionName === "(garbage collector)" },
];

export function profileFindings(profile: CpuProfile): string[] {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) {
        for (const childId of node.children ?? []) {
            parent.set(childId, node.id);
        }
    }
    const add = (map: Map<string, number>, key: string, ms: number): void => {
        map.set(key, (map.get(key) ?? 0) + ms);
    };
    const self = new Map<string, number>();
    const area = new Map<string, number>();
    const causes = new Map<string, number>();
    const programFrames = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
        const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
        const stack: CpuProfileNode[] = [];
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const frame = byId.get(at);
            if (frame !== undefined) {
                stack.push(frame);
            }
        }
        if (stack.length === 0 || stack[0].callFrame.functionName === "(idle)") {
            return;
        }
        total += ms;
        add(self, frameKey(stack[0]), ms);
        const owner = stack.find((frame) => frame.callFrame.url !== "");
        add(area, owner === undefined ? stack[0].callFrame.functionName : frameArea(owner), ms);
        for (const cause of CAUSES) {
            if (stack.some(cause.matches)) {
                add(causes, cause.label, ms);
            }
        }
        for (const key of new Set(stack.filter((frame) => frameArea(frame) === "the program's own code").map(frameKey))) {
            add(programFrames, key, ms);
        }
    });
    const top = (map: Map<string, number>, count: number): string[] =>
        [...map.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, count)
            .map(([key, ms]) => `  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
    return [
        `CPU profile of one warm transpile-only program run (${HOST_REGISTRIES} registries): ${total.toFixed(0)} ms sampled, not idle.`,
        "",
        "Inclusive time by cause (they overlap):",
        ...CAUSES.map(({ label }) => `  ${(causes.get(label) ?? 0).toFixed(0).padStart(6)} ms  ${label}`),
        "",
        "Self time by area:",
        ...top(area, 12),
        "",
        "Top self time by function:",
        ...top(self, 12),
        "",
        "The program's own frames, inclusive:",
        ...top(programFrames, 8),
    ];
}

export function profileRun(): string[] {
    const flatDir = writeFlatProject();
    const cacheDir = freshCacheDir();
    const cpuProfileDir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-cpuprof-"));
    try {
        const run = { target: "program", checking: "transpile-only", registries: HOST_REGISTRIES, flatDir, cacheDir } as const;
        hostSample(run); // fills the cache
        const sample = hostSample({ ...run, cpuProfileDir });
        const file = fs.readdirSync(cpuProfileDir).find((name) => name.endsWith(".cpuprofile"));
        if (file === undefined) {
            throw new Error(`no CPU profile written to ${cpuProfileDir}`);
        }
        const profile = JSON.parse(fs.readFileSync(path.join(cpuProfileDir, file), "utf8")) as CpuProfile;
        return [`Profiled sample: done at ${sample.ms.toFixed(0)} ms (profiling slows it down).`, ...profileFindings(profile)];
    } finally {
        for (const dir of [flatDir, cacheDir, cpuProfileDir]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}
