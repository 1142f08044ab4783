/**
 * ServiceAccountPullSecret as Pulumi serializes it: its runtime travels as the source of three small modules that
 * reach nothing of the project but each other, and its kubeconfig input is a secret. What it does to a service
 * account is proven on a real API server in tests/cluster/.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { shippedRuntime } from "../components/reset/runtimeSource";
import { installMocks, promiseOf, settle, type RecordingMocks } from "./mocks";

const ROOT = path.resolve(__dirname, "..", "..");
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
        const functions = (inputs.__provider as string).match(/^(?:async )?function __f\d+/gm) ?? [];
        assert.ok(functions.length <= 12, `${functions.length} functions serialized`);
        assert.match(inputs.__provider as string, /planAdd/, "the runtime's source is not in the serialized text");
    });
});
