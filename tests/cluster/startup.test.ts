/**
 * Program start-up and the `npm run measure` scripts, in fresh Node processes: the compiled program under the
 * runtime mocks, the program from index.ts under the language host's ts-node, the delivery at scale, and the
 * documented measure commands end to end. Cold processes take seconds each, more on a loaded machine, so they run
 * here, under the cluster suite's timeout, not in the unit suite's. No rig: nothing here needs an API server.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const SCRIPTS = path.resolve(__dirname, "..", "..", "scripts");
const MEASURE = path.join(SCRIPTS, "measureStartup.js");
const SCALE = path.join(SCRIPTS, "measureScale.js");

/** Runs a compiled script in a fresh Node process and returns what it printed. */
function node(script: string, args: readonly string[]): string {
    return execFileSync(process.execPath, [script, ...args], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
}

interface Sample {
    readonly registered: number;
    readonly azureNativeModules: number;
    readonly azureSdkLoaded: boolean;
    readonly kubernetesLoaded: boolean;
}

/** One run of the compiled program (or the flat one) under the runtime mocks. */
function sample(mode: string, registries: number): Sample {
    return JSON.parse(node(MEASURE, ["--child", mode, String(registries)])) as Sample;
}

interface HostSample {
    readonly ms: number;
    readonly exportsMs: number;
    readonly registered: number;
    readonly tsFiles: number;
    readonly dynamicProviderChars: number;
}

/** One cold, transpile-only run the way `pulumi up` starts the program: cmd/run registering ts-node on index.ts. */
function hostSample(target: "program" | "flat", registries: number): HostSample {
    return JSON.parse(node(MEASURE, ["--host-sample", target, "transpile-only", String(registries)])) as HostSample;
}

describe("program start-up", () => {
    it("loads azure-native by submodule, no Azure SDK and no @pulumi/kubernetes, like a flat program declaring the same resources", () => {
        const program = sample("program", 3);
        const flat = sample("flat", 3);
        // The component itself is the one extra registration.
        assert.equal(program.registered, flat.registered + 1);
        // The full azure-native index pulls in ~260 modules; submodule imports need a handful.
        assert.ok(program.azureNativeModules <= flat.azureNativeModules, `${program.azureNativeModules} azure-native modules loaded`);
        assert.ok(program.azureNativeModules < 20);
        assert.equal(program.azureSdkLoaded, false, "the Azure SDK must load only where it is used");
        assert.equal(program.kubernetesLoaded, false, "@pulumi/kubernetes is for the image pull secret delivery only");
    });

    it("starts from index.ts under the language host's ts-node, and the flat TypeScript program declares the same graph", () => {
        const compiled = sample("program", 2);
        const program = hostSample("program", 2);
        const flat = hostSample("flat", 2);
        // The same graph as from bin/index.js, plus the Stack resource the language host wraps the program in.
        assert.equal(program.registered, compiled.registered + 1);
        // The flat program differs by the component alone; when the program's graph changes, change flatProgramSource.
        assert.equal(program.registered, flat.registered + 1);
        assert.ok(
            Number.isFinite(program.exportsMs) && program.exportsMs <= program.ms,
            "every export resolved before the shutdown signal",
        );
        assert.ok(program.tsFiles > 1, `ts-node compiled ${program.tsFiles} TypeScript files: index.ts and components/`);
        assert.equal(flat.tsFiles, 1);
        assert.ok(program.dynamicProviderChars > 0 && flat.dynamicProviderChars > 0, "each serializes its dynamic provider");
    });

    it("declares the image pull secret delivery at scale without reads of its own, and small provider text", () => {
        const run = (mode: string): { ms: number; registered: number; providerChars: number } =>
            JSON.parse(node(SCALE, ["--child", mode, "20"])) as { ms: number; registered: number; providerChars: number };
        const references = run("references");
        const patches = run("patches");
        // 20 Secrets, 60 references, the references' provider, the Kubernetes provider, the parent: the program reads
        // the namespaces and service accounts itself, so no `.get` resources.
        assert.equal(references.registered, 83);
        // The earlier graph: the same Secrets and a patch per service account, plus 20 namespace and 60 service account
        // reads, the Kubernetes provider and the parent.
        assert.equal(patches.registered, 162);
        // What each reference carries into the state: the runtime's source, its comment lines removed.
        const perReference = references.providerChars / 60;
        assert.ok(perReference < 25_000, `${perReference.toFixed(0)} characters of provider text per reference`);
        assert.equal(patches.providerChars, 0);
    });
});

// The commands docs/performance.md gives, as `npm run measure` runs them (after the tsc the suite already ran).
describe("npm run measure", () => {
    it("-- --quick prints the compiled, language-host and scale tables, and how to reproduce a sample", () => {
        const report = node(MEASURE, ["--quick"]);
        assert.match(report, /^Compiled JavaScript \(bin\/index\.js\) under the runtime mocks/);
        for (const registries of [1, 10, 100]) {
            assert.match(report, new RegExp(`^ *${registries} registries +program +\\d+ ms`, "m"));
        }
        assert.match(report, /^Language host start-up: node .* registers ts-node on the entry point/m);
        for (const row of ["cold, both transpile-only", "warm, both transpile-only", "per registry, warm transpile-only"]) {
            assert.match(report, new RegExp(`^${row}`, "m"));
        }
        assert.match(report, /^Reproduce: npm run measure/m);
        assert.match(
            report,
            /^Image pull secret delivery at scale: 100 namespaces x 3 service accounts, under the runtime mocks, median of 3:$/m,
        );
        assert.match(report, /^ {2}ratio \d+\.\d\d \(budget 1\.25\)/m);
    });

    it("-- --profile prints where one warm run spends its time", () => {
        const report = node(MEASURE, ["--profile"]);
        assert.match(report, /^Profiled sample: done at \d+ ms/);
        for (const section of ["Inclusive time by cause", "Self time by area:", "Top self time by function:", "The program's own frames"]) {
            assert.ok(report.includes(section), `no "${section}" in:\n${report}`);
        }
    });

    it("node bin/scripts/measureScale.js alone prints the scale table", () => {
        const report = node(SCALE, ["--quick"]);
        assert.match(report, /^Image pull secret delivery at scale: 100 namespaces x 3 service accounts/);
        assert.match(report, /^ {2}ServiceAccountPullSecret +\d+ ms +403 registrations/m);
        assert.match(report, /^ {2}ServiceAccountPatch \(before\) +\d+ ms +802 registrations/m);
    });
});
