/**
 * Part 2: samples taken the way the language host starts a program (cmd/run with ts-node), and their table.
 * Part of `npm run measure` (scripts/measureStartup.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type * as MocksModule from "@pulumi/pulumi/runtime/mocks";
import type * as SettingsModule from "@pulumi/pulumi/runtime/settings";
import {
    ENTRY,
    HOST_REGISTRIES,
    LANGUAGE_HOST_RUN,
    NS,
    ORGANIZATION,
    PRELOAD_ENV,
    ROOT,
    SLOPE_REGISTRIES,
    STACK,
    countingMocks,
    stackConfig,
} from "./common";
import { median } from "./compiled";
import { writeFlatProject } from "./programs";

export type Target = "program" | "flat";
/**
 * How ts-node compiles: `as-shipped` runs the program with this project's own Pulumi.yaml runtime options (and the
 * flat program with Pulumi's defaults); the other two force the same mode on both.
 */
export type Checking = "as-shipped" | "type-checked" | "transpile-only";

/** Pulumi.yaml's runtime options, as pulumi-language-nodejs turns them into the program's environment and Node arguments. */
export function projectRuntime(): { readonly env: Record<string, string>; readonly nodeArgs: string[] } {
    const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
        runtime?: string | { options?: { typescript?: boolean; tsconfig?: string; nodeargs?: string } };
    };
    const options = typeof project.runtime === "object" ? (project.runtime.options ?? {}) : {};
    return {
        env: {
            ...(options.typescript === false ? {} : { PULUMI_NODEJS_TYPESCRIPT: "true" }),
            ...(options.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: options.tsconfig } : {}),
        },
        nodeArgs: options.nodeargs ? options.nodeargs.split(/\s+/).filter((arg) => arg !== "") : [],
    };
}

/** What the preload reports from inside a language-host sample. Times are ms since the process started. */
export interface HostSample {
    /** When the language host signalled the (mock) engine that the program finished: exports resolved, RPCs drained. */
    readonly ms: number;
    /** When the stack's outputs were registered, i.e. every export resolved. */
    readonly exportsMs: number;
    /** When the preload ran, right before cmd/run loads and registers ts-node. */
    readonly preloadMs: number;
    readonly registered: number;
    readonly dynamicProviderChars: number;
    readonly modules: number;
    /** TypeScript files ts-node compiled or took from its cache. */
    readonly tsFiles: number;
    readonly heapMB: number;
}

export interface PreloadSettings {
    readonly resultFile: string;
}

export type Callback = (error: Error | null, response: unknown) => void;

/** The two MockMonitor methods the preload wraps or adds; the mock has no signalAndWaitForShutdown of its own. */
export interface PatchableMonitor {
    registerResourceOutputs(request: { getUrn(): string }, callback: Callback): void;
    signalAndWaitForShutdown?: (request: unknown, callback: Callback) => void;
}

/** Runs inside a language-host sample, loaded with --require before node_modules/@pulumi/pulumi/cmd/run. */
export function preload(settings: PreloadSettings): void {
    const preloadMs = performance.now();
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { setMocks } = require("@pulumi/pulumi/runtime/mocks") as typeof MocksModule;
    const { getMonitor } = require("@pulumi/pulumi/runtime/settings") as typeof SettingsModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const { mocks, registered, dynamicProviderChars } = countingMocks();
    // setMocks does all its work before its first await; cmd/run then reads project and stack from these options.
    void setMocks(mocks, NS, STACK, false, ORGANIZATION);
    const monitor = getMonitor() as unknown as PatchableMonitor;
    let exportsMs = Number.NaN;
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (request, callback) => {
        if (request.getUrn().includes("::pulumi:pulumi:Stack::")) {
            exportsMs = performance.now();
        }
        registerResourceOutputs(request, callback);
    };
    // cmd/run calls this from its beforeExit handler once the program is done and the RPC queue has drained.
    monitor.signalAndWaitForShutdown = (_request, callback) => {
        const ms = performance.now();
        const modules = Object.keys(require.cache);
        const sample: HostSample = {
            ms,
            exportsMs,
            preloadMs,
            registered: registered(),
            dynamicProviderChars: dynamicProviderChars(),
            modules: modules.length,
            tsFiles: modules.filter((m) => m.endsWith(".ts")).length,
            heapMB: process.memoryUsage().heapUsed / 2 ** 20,
        };
        fs.writeFileSync(settings.resultFile, JSON.stringify(sample));
        callback(null, {});
    };
}

export interface HostRun {
    readonly target: Target;
    readonly checking: Checking;
    readonly registries: number;
    /** TS_NODE_CACHE_DIRECTORY: ts-node's disk cache (by default os.tmpdir()/ts-node-<hash of the home directory>). */
    readonly cacheDir: string;
    readonly flatDir: string;
    readonly cpuProfileDir?: string;
}

/** The command line and environment of one language-host sample, as the Node language host would start it. */
export function hostCommand(run: HostRun, resultFile: string): { cwd: string; args: string[]; env: Record<string, string> } {
    const cwd = run.target === "program" ? ROOT : run.flatDir;
    // The program as it ships: Pulumi.yaml's runtime options (tsconfig, Node arguments); the flat program never.
    const shipped = run.checking === "as-shipped" && run.target === "program" ? projectRuntime() : undefined;
    const env: Record<string, string> = {
        PULUMI_NODEJS_TYPESCRIPT: "true",
        PULUMI_CONFIG: JSON.stringify(stackConfig(run.registries)),
        PULUMI_CONFIG_SECRET_KEYS: "[]",
        TS_NODE_CACHE_DIRECTORY: run.cacheDir,
        ...(run.checking === "transpile-only" ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : {}),
        ...shipped?.env,
        [PRELOAD_ENV]: JSON.stringify({ resultFile } satisfies PreloadSettings),
    };
    const args = [
        ...(shipped?.nodeArgs ?? []),
        ...(run.cpuProfileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", run.cpuProfileDir]),
        "--require",
        ENTRY,
        LANGUAGE_HOST_RUN,
        "--monitor",
        "mock",
        "--organization",
        ORGANIZATION,
        "--project",
        NS,
        "--stack",
        STACK,
        "--pwd",
        cwd,
        // Pulumi.yaml's `main: index.ts` for the program; "." (package.json's main) for the flat project, as the CLI passes.
        run.target === "program" ? "index.ts" : ".",
    ];
    return { cwd, args, env };
}

/** Runs one language-host sample in a fresh Node process and returns what its preload measured. */
export function hostSample(run: HostRun): HostSample {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-sample-"));
    try {
        const resultFile = path.join(scratch, "sample.json");
        const { cwd, args, env } = hostCommand(run, resultFile);
        const inherited = Object.fromEntries(
            Object.entries(process.env).filter(
                ([key]) => !key.startsWith("TS_NODE_") && !key.startsWith("PULUMI_NODEJS_") && !key.startsWith("PULUMI_CONFIG"),
            ),
        );
        const result = spawnSync(process.execPath, args, { cwd, env: { ...inherited, ...env }, encoding: "utf8", timeout: 300_000 });
        if (result.status !== 0 || !fs.existsSync(resultFile)) {
            throw new Error(
                `${run.target} (${run.checking}) failed under the language host, exit ${String(result.status ?? result.signal)}:\n` +
                    `${result.stdout}\n${result.stderr}`,
            );
        }
        return JSON.parse(fs.readFileSync(resultFile, "utf8")) as HostSample;
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

export function freshCacheDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-ts-node-"));
}

/** One cold sample: an empty ts-node cache, removed afterwards. */
export function coldSample(run: Omit<HostRun, "cacheDir">): HostSample {
    const cacheDir = freshCacheDir();
    try {
        return hostSample({ ...run, cacheDir });
    } finally {
        fs.rmSync(cacheDir, { recursive: true, force: true });
    }
}

export interface Stats {
    readonly median: number;
    readonly min: number;
    readonly max: number;
}

export function stats(values: readonly number[]): Stats {
    return { median: median([...values]), min: Math.min(...values), max: Math.max(...values) };
}

/** Runs `sample` for program and flat, `count` rounds, alternating which goes first. */
export function interleaved(count: number, sample: (target: Target) => HostSample): Record<Target, HostSample[]> {
    const samples: Record<Target, HostSample[]> = { program: [], flat: [] };
    for (let round = 0; round < count; round++) {
        for (const target of round % 2 === 0 ? (["program", "flat"] as const) : (["flat", "program"] as const)) {
            samples[target].push(sample(target));
        }
    }
    return samples;
}

export function shellQuote(value: string): string {
    return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function tsVersions(): string {
    const version = (file: string): string => (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    let tsNode = "the vendored ts-node 7.0.1";
    try {
        tsNode = `the project's ts-node ${version(require.resolve("ts-node/package.json", { paths: [ROOT] }))}`;
    } catch {
        // Not installed: @pulumi/pulumi's tsutils.js falls back to its vendored copy.
    }
    return `${tsNode}, TypeScript ${version(path.join(ROOT, "node_modules", "typescript", "package.json"))}`;
}

export const LABEL_WIDTH = 40;
export const CELL_WIDTH = 22;

export function tableRow(label: string, program: string, flat: string, ratio = ""): string {
    return `${label.padEnd(LABEL_WIDTH)}${program.padEnd(CELL_WIDTH)}${flat.padEnd(CELL_WIDTH)}${ratio}`;
}

export function formatStats(s: Stats): string {
    return `${s.median.toFixed(0).padStart(5)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
}

export function formatRatio(program: number, flat: number): string {
    return (program / flat).toFixed(2).padStart(6);
}

export function hostTable(quick: boolean): string[] {
    const coldRounds = quick ? 1 : 5;
    const warmRounds = quick ? 2 : 7;
    const slopeRounds = quick ? 1 : 5;
    const flatDir = writeFlatProject();
    const warmDirs: string[] = [];
    const rows: string[] = [
        `Language host start-up: node ${LANGUAGE_HOST_RUN} registers ts-node on the entry point (${tsVersions()}),`,
        `Node ${process.version}, runtime mocks instead of an engine, ${HOST_REGISTRIES} registries. ms from process start until the host signals`,
        `the engine that the program is done (every export resolved, registrations drained); median (min–max) of ${coldRounds} cold /`,
        `${warmRounds} warm samples, program and flat interleaved. Cold: an empty ts-node cache (a fresh CI runner, a first run);`,
        `warm: the cache a previous run filled.`,
        "",
        tableRow("", "program ms", "flat ms", "program/flat"),
    ];
    try {
        let warmTranspileOnly: Record<Target, string> | undefined;
        let last: Record<Target, HostSample> | undefined;
        for (const checking of ["as-shipped", "type-checked", "transpile-only"] as const) {
            const base = { checking, registries: HOST_REGISTRIES, flatDir };
            const cold = interleaved(coldRounds, (target) => coldSample({ ...base, target }));
            const warmDir: Record<Target, string> = { program: freshCacheDir(), flat: freshCacheDir() };
            warmDirs.push(warmDir.program, warmDir.flat);
            // Fill each warm cache with one untimed run.
            for (const target of ["program", "flat"] as const) {
                hostSample({ ...base, target, cacheDir: warmDir[target] });
            }
            const warm = interleaved(warmRounds, (target) => hostSample({ ...base, target, cacheDir: warmDir[target] }));
            const label = {
                "as-shipped": "program as shipped, flat with Pulumi's defaults",
                "type-checked": "both type-checked (Pulumi's default)",
                "transpile-only": "both transpile-only",
            }[checking];
            for (const [cache, samples] of [
                ["cold", cold],
                ["warm", warm],
            ] as const) {
                const program = stats(samples.program.map((s) => s.ms));
                const flat = stats(samples.flat.map((s) => s.ms));
                rows.push(
                    tableRow(`${cache}, ${label}`, formatStats(program), formatStats(flat), formatRatio(program.median, flat.median)),
                );
            }
            if (checking === "transpile-only") {
                warmTranspileOnly = warmDir;
                last = { program: warm.program[warm.program.length - 1], flat: warm.flat[warm.flat.length - 1] };
            }
        }
        if (warmTranspileOnly !== undefined) {
            const cacheDir = warmTranspileOnly;
            const [low, high] = SLOPE_REGISTRIES;
            const at: Record<Target, Record<number, number[]>> = { program: { [low]: [], [high]: [] }, flat: { [low]: [], [high]: [] } };
            for (let round = 0; round < slopeRounds; round++) {
                for (const registries of round % 2 === 0 ? [low, high] : [high, low]) {
                    const samples = interleaved(1, (target) =>
                        hostSample({ target, checking: "transpile-only", registries, flatDir, cacheDir: cacheDir[target] }),
                    );
                    at.program[registries].push(samples.program[0].ms);
                    at.flat[registries].push(samples.flat[0].ms);
                }
            }
            const slope = (target: Target): number => (median(at[target][high]) - median(at[target][low])) / (high - low);
            const range = (target: Target): string => `${median(at[target][low]).toFixed(0)} → ${median(at[target][high]).toFixed(0)}`;
            rows.push(
                tableRow(
                    `per registry, warm transpile-only`,
                    `${slope("program").toFixed(1).padStart(5)} ms`,
                    `${slope("flat").toFixed(1).padStart(5)} ms`,
                    formatRatio(slope("program"), slope("flat")),
                ),
                tableRow(`  median ms at ${low} → ${high} registries`, `  ${range("program")}`, `  ${range("flat")}`),
            );
        }
        if (last !== undefined) {
            const detail = (label: string, value: (s: HostSample) => string): string =>
                tableRow(label, value(last.program), value(last.flat));
            rows.push(
                "",
                "Last warm transpile-only sample:",
                detail("  resources registered", (s) => String(s.registered)),
                detail("  modules loaded / of them .ts", (s) => `${s.modules} / ${s.tsFiles}`),
                detail("  serialized dynamic provider (KB)", (s) => (s.dynamicProviderChars / 1024).toFixed(1)),
                detail("  preload ran / exports resolved (ms)", (s) => `${s.preloadMs.toFixed(0)} / ${s.exportsMs.toFixed(0)}`),
            );
        }
        const example = hostCommand(
            { target: "program", checking: "as-shipped", registries: HOST_REGISTRIES, flatDir, cacheDir: "<empty dir for cold>" },
            "<result.json>",
        );
        rows.push(
            "",
            "Reproduce: npm run measure   (fewer samples: npm run measure -- --quick; CPU profile: npm run measure -- --profile)",
            `One sample (the program as it ships, with Pulumi.yaml's tsconfig and nodeargs), from ${example.cwd}:`,
            `  ${Object.entries(example.env)
                .map(([key, value]) => `${key}=${shellQuote(value)}`)
                .join(" ")} \\\n    node ${example.args.map(shellQuote).join(" ")}`,
            `The flat program runs the same command from its temp project (the tsconfig of \`pulumi new azure-typescript\`), program ".".`,
        );
    } finally {
        for (const dir of [flatDir, ...warmDirs]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    return rows;
}
