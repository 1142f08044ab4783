/**
 * ServiceAccountPullSecret as Pulumi serializes it: its runtime travels as the source of three small modules that
 * reach nothing of the project but each other, and its kubeconfig input is a secret. What it does to a service
 * account is proven on a real API server in tests/cluster/.
 */
import * as assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { shippedRuntime } from "../components/reset/runtimeSource";
import { installMocks, promiseOf, settle, type RecordingMocks } from "./mocks";

const ROOT = path.resolve(__dirname, "..", "..");
type Provider = pulumi.dynamic.ResourceProvider;
const MODULES = ["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"];

describe("ServiceAccountPullSecret's serialized provider", () => {
    let mocks: RecordingMocks;
    let resourceModule: typeof import("../components/delivery/serviceAccountPullSecret");

    before(async () => {
        mocks = await installMocks();
        resourceModule = await import("../components/delivery/serviceAccountPullSecret");
    });

    it("ships the modules it names, each requiring only earlier ones, packages and Node built-ins", () => {
        assert.deepEqual([...resourceModule.REFERENCE_RUNTIME_MODULES], MODULES);
        for (const typescript of [false, true]) {
            const dir = path.join(typescript ? ROOT : path.join(ROOT, "bin"), "components", "delivery");
            const modules = shippedRuntime(dir, typescript, MODULES);
            modules.forEach((module, index) => {
                for (const [, specifier] of module.source.matchAll(/(?:require\(|from\s+)"([^"]+)"/g)) {
                    if (specifier.startsWith(".")) {
                        assert.ok(
                            MODULES.slice(0, index).some((earlier) => specifier === `./${earlier}`),
                            `${module.name} (${typescript ? "ts" : "js"}) imports ${specifier}, which is not shipped before it`,
                        );
                    }
                }
            });
        }
    });

    it("keeps the kubeconfig secret and out of the serialized provider", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: SECRET-TOKEN-123}}]";
        const reference = new resourceModule.ServiceAccountPullSecret("apps-default", {
            kubeconfig,
            namespace: "apps",
            serviceAccount: "default",
            secretName: "acr-cross-tenant-pull",
        });
        await promiseOf(reference.urn);
        await settle();
        const inputs = mocks.named("apps-default").inputs;
        const wrapped = inputs.kubeconfig as Record<string, unknown>;
        assert.equal(wrapped["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270", "the kubeconfig input is not secret");
        assert.equal(typeof inputs.__provider, "string");
        assert.ok(!(inputs.__provider as string).includes("SECRET-TOKEN-123"), "the serialized provider holds the kubeconfig");
        assert.equal(inputs.namespace, "apps");
        assert.equal(inputs.serviceAccount, "default");
        assert.equal(mocks.named("apps-default").type, "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret");
        assert.match(inputs.__provider as string, /planAdd/, "the runtime's source is not in the provider text");
        assert.ok((inputs.__provider as string).length < 40_000, `${(inputs.__provider as string).length} characters per resource`);
    });

    it("is loaded by the host's own loader into a provider with every method, which runs without a cluster where it can", async () => {
        const text = mocks.named("apps-default").inputs.__provider as string;
        // What pulumi/cmd/dynamic-provider does with the text: requireFromString(text).handler().
        const requireFromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
        const requireFromString = requireFromPulumi("require-from-string") as (code: string) => { handler: () => Provider };
        const provider = requireFromString(text).handler();
        for (const method of ["check", "diff", "create", "read", "update", "delete"] as const) {
            assert.equal(typeof provider[method], "function", `the loaded provider lacks ${method}`);
        }
        const state = { kubeconfig: "k", namespace: "apps", serviceAccount: "default", secretName: "acr", added: true, listed: true };
        assert.deepEqual(await provider.diff!("id", state, { ...state, serviceAccount: "builder" }), {
            changes: true,
            replaces: ["serviceAccount"],
            deleteBeforeReplace: false,
        });
        assert.deepEqual(await provider.diff!("id", { ...state, listed: false }, state), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
        // Every failure of check without a cluster is named, before any request.
        const checked = await provider.check!({}, { kubeconfig: "", namespace: "apps", serviceAccount: "", secretName: "acr" });
        assert.deepEqual(
            checked.failures?.map((failure) => failure.property),
            ["kubeconfig", "serviceAccount"],
        );
    });
});
