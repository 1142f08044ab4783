/**
 * The cluster binding's runtime travels as source text: it must load on its own in a provider host, from the
 * compiled library as from the TypeScript sources pulumi runs, and reach nothing of the project but its siblings.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { RUNTIME_MODULES, shippedRuntime, withoutCommentLines } from "../components/reset/runtimeSource";
import { clusterCredentialBindingProvider } from "../components/clusterBinding";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs `script` in a fresh Node process with the project as working directory, as the provider host runs. */
function inProviderHost(script: string): string {
    return execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
}

const ROOT_FOR_SOURCES = path.resolve(__dirname, "..", "..");

describe("shipped sources", () => {
    it("lose their comment lines, never code or strings that look like comments", () => {
        const source = [
            "/**",
            " * Documentation.",
            " */",
            "// a line comment",
            'const url = "https://example.com/*"; // a trailing comment stays',
            "    /* one line */",
            "/* a comment */ const after = 1;",
            "//# sourceMappingURL=module.js.map",
        ].join("\n");
        assert.equal(
            withoutCommentLines(source),
            ['const url = "https://example.com/*"; // a trailing comment stays', "/* a comment */ const after = 1;"].join("\n") + "\n",
        );
    });

    it("hold no template literal across lines, the one place a comment-like line could be text", () => {
        const modules = [
            ...RUNTIME_MODULES.map((name) => path.join(ROOT_FOR_SOURCES, "components", "reset", `${name}.ts`)),
            ...["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"].map((name) =>
                path.join(ROOT_FOR_SOURCES, "components", "pullSecretTarget", `${name}.ts`),
            ),
        ];
        for (const file of modules) {
            fs.readFileSync(file, "utf8")
                .split("\n")
                .forEach((line, index) => {
                    assert.equal((line.match(/`/g) ?? []).length % 2, 0, `${file}:${index + 1} opens a template literal it does not close`);
                });
        }
    });
});

describe("the binding's shipped runtime", () => {
    it("requires only its own earlier modules, packages and Node built-ins", () => {
        for (const typescript of [false, true]) {
            const modules = shippedRuntime(path.join(typescript ? ROOT : path.join(ROOT, "bin"), "components", "reset"), typescript);
            assert.deepEqual(
                modules.map((m) => m.name),
                [...RUNTIME_MODULES],
            );
            modules.forEach((module, index) => {
                const specifiers = [...module.source.matchAll(/(?:require\(|from\s+)"([^"]+)"/g)].map((match) => match[1]);
                for (const specifier of specifiers) {
                    if (specifier.startsWith(".")) {
                        assert.ok(
                            RUNTIME_MODULES.slice(0, index).some((earlier) => specifier === `./${earlier}`),
                            `${module.name} (${typescript ? "ts" : "js"}) imports ${specifier}, which is not shipped before it`,
                        );
                    }
                }
                assert.doesNotMatch(module.source, /sourceMappingURL/);
            });
        }
    });

    it("loads from the TypeScript sources in a provider host, transpiled with the project's TypeScript", () => {
        const modules = shippedRuntime(path.join(ROOT, "components", "reset"), true);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runtime-")), "modules.json");
        fs.writeFileSync(file, JSON.stringify(modules));
        const loader = path.join(__dirname, "..", "components", "reset", "runtimeSource.js");
        const output = inProviderHost(`
            const { loadShippedRuntime } = require(${JSON.stringify(loader)});
            const runtime = loadShippedRuntime(JSON.parse(require("node:fs").readFileSync(${JSON.stringify(file)}, "utf8")));
            const provider = runtime.bindingProvider.bindingProvider;
            provider.delete("id", { resourceGroupName: "rg", clusterName: "aks", clientId: "app", deletePolicy: "refuse" }).then(
                () => console.log("deleted"),
                (error) => console.log(JSON.stringify({ message: error.message, typescript: Object.keys(require.cache).some((k) => k.includes("node_modules/typescript/")) })),
            );
        `);
        const result = JSON.parse(output) as { message: string; typescript: boolean };
        assert.match(result.message, /^Refusing to delete the credential binding of AKS cluster rg\/aks/);
        assert.equal(result.typescript, true, "the TypeScript sources were not transpiled in the host");
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });

    it("is serialized as source text: the provider's closure walks a few small functions", async () => {
        const serialized = await pulumi.runtime.serializeFunction(() => clusterCredentialBindingProvider, { allowSecrets: false });
        const functions = serialized.text.match(/^(?:async )?function __f\d+/gm) ?? [];
        // diff and its helpers, the five delegates, the lazy loader and loadShippedRuntime; the reset is in the text.
        assert.ok(functions.length <= 16, `${functions.length} functions serialized`);
        assert.match(serialized.text, /resetServicePrincipalProfile/);
        // What it costs in time is npm run measure's to say: a wall-clock bound here fails on a loaded machine.
    });
});
