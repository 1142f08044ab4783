/**
 * The library as another stack gets it: `npm pack`, installed into a scratch project, and both example stacks
 * type-checked against the packed files (not against the sources).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

describe("packed library", function () {
    // npm pack builds the library first (prepack).
    this.timeout(120_000);
    let scratch: string;
    let files: string[];

    before(() => {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-pack-"));
        const npm = process.platform === "win32" ? "npm.cmd" : "npm";
        const [packed] = JSON.parse(
            execFileSync(npm, ["pack", "--json", "--pack-destination", scratch], {
                cwd: ROOT,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            }),
        ) as Array<{ filename: string; files: Array<{ path: string }> }>;
        files = packed.files.map((file) => file.path);
        const installed = path.join(scratch, "node_modules", "aks-acr-cross-tenant");
        fs.mkdirSync(installed, { recursive: true });
        execFileSync("tar", ["-xzf", path.join(scratch, packed.filename), "-C", installed, "--strip-components=1"]);
        // The package's own dependencies, as npm would have installed them beside it.
        for (const scope of ["@pulumi", "@azure", "@types"]) {
            fs.symlinkSync(path.join(ROOT, "node_modules", scope), path.join(scratch, "node_modules", scope), "dir");
        }
    });

    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it("holds the compiled library with its type declarations and nothing of the program or tests", () => {
        for (const file of [
            "package.json",
            "README.md",
            "LICENSE",
            "CHANGELOG.md",
            "lib/index.js",
            "lib/index.d.ts",
            "lib/crossTenantAcrPull.d.ts",
            "lib/reset/resetClusterServicePrincipal.js",
        ]) {
            assert.ok(files.includes(file), `${file} is missing from the package`);
        }
        const stray = files.filter(
            (file) => !file.startsWith("lib/") && !["package.json", "README.md", "LICENSE", "CHANGELOG.md"].includes(file),
        );
        assert.deepEqual(stray, []);
        assert.ok(!files.some((file) => file.endsWith(".ts") && !file.endsWith(".d.ts")), "TypeScript sources were packed");
    });

    it("resolves through package.json exports and loads without the Azure SDKs or @pulumi/kubernetes", () => {
        const script = `const lib = require("aks-acr-cross-tenant"); process.stdout.write(JSON.stringify({ component: typeof lib.CrossTenantAcrPull, reset: typeof lib.resetClusterServicePrincipal, sdk: Object.keys(require.cache).some((k) => k.includes("@azure/arm-containerservice") || k.includes("@azure/identity")), kubernetes: Object.keys(require.cache).some((k) => k.includes("@pulumi/kubernetes")) }));`;
        const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: scratch, encoding: "utf8" })) as Record<
            string,
            unknown
        >;
        assert.deepEqual(result, { component: "function", reset: "function", sdk: false, kubernetes: false });
    });

    it("ships the binding's runtime as the compiled JavaScript next to it", () => {
        const script = `const { shippedRuntime } = require(require("node:path").join(require("node:path").dirname(require.resolve("aks-acr-cross-tenant")), "reset", "runtimeSource.js")); process.stdout.write(JSON.stringify(shippedRuntime().map((m) => [m.name, m.typescript, m.source.length > 0])));`;
        const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: scratch, encoding: "utf8" })) as unknown;
        assert.deepEqual(result, [
            ["clouds", false, true],
            ["clusterIdentity", false, true],
            ["bindingState", false, true],
            ["resetClusterServicePrincipal", false, true],
            ["bindingProvider", false, true],
        ]);
    });

    for (const example of ["existing-cluster", "owned-cluster", "managed-identity-cluster", "federated-cluster"]) {
        it(`type-checks examples/${example} against the packed package`, () => {
            const dir = path.join(scratch, example);
            fs.mkdirSync(dir);
            for (const file of ["index.ts", "tsconfig.json"]) {
                fs.copyFileSync(path.join(ROOT, "examples", example, file), path.join(dir, file));
            }
            try {
                execFileSync(process.execPath, [TSC, "-p", path.join(dir, "tsconfig.json"), "--noEmit"], {
                    encoding: "utf8",
                    stdio: ["ignore", "pipe", "pipe"],
                });
            } catch (error) {
                assert.fail(`tsc failed for ${example}:\n${String((error as { stdout?: string }).stdout)}`);
            }
        });
    }
});
