import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const MEASURE = path.resolve(__dirname, "..", "scripts", "measureStartup.js");

interface Sample {
    readonly registered: number;
    readonly azureNativeModules: number;
    readonly azureSdkLoaded: boolean;
    readonly kubernetesLoaded: boolean;
}

function sample(mode: string, registries: number): Sample {
    return JSON.parse(execFileSync(process.execPath, [MEASURE, "--child", mode, String(registries)], { encoding: "utf8" })) as Sample;
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
    return JSON.parse(
        execFileSync(process.execPath, [MEASURE, "--host-sample", target, "transpile-only", String(registries)], { encoding: "utf8" }),
    ) as HostSample;
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

    it("declares the image pull secret delivery at scale with as many registrations as the patches it replaced, and small provider text", () => {
        const scale = path.resolve(__dirname, "..", "scripts", "measureScale.js");
        const run = (mode: string): { ms: number; registered: number; providerChars: number } =>
            JSON.parse(execFileSync(process.execPath, [scale, "--child", mode, "20"], { encoding: "utf8" })) as {
                ms: number;
                registered: number;
                providerChars: number;
            };
        const references = run("references");
        const patches = run("patches");
        // 20 namespace reads, 60 service account reads, 20 Secrets, 60 references or patches, the provider, the parent.
        assert.equal(references.registered, 162);
        assert.equal(patches.registered, references.registered);
        // What each reference carries into the state: the runtime's source, its comment lines removed.
        const perReference = references.providerChars / 60;
        assert.ok(perReference < 25_000, `${perReference.toFixed(0)} characters of provider text per reference`);
        assert.equal(patches.providerChars, 0);
    });
});
