/**
 * ServiceAccountPullSecret as Pulumi serializes it: each reference carries a stub of a few hundred characters and
 * names its provider resource, which holds the runtime (the source of three small modules that reach nothing of the
 * project but each other) and the kubeconfig, as a secret, once. The stub is loaded here the way Pulumi's dynamic
 * provider host loads it (`require-from-string`, then `configure` with the host's own `Config`). What it does to a
 * service account is proven on a real API server in tests/cluster/.
 */
import * as assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { shippedRuntime } from "../components/reset/runtimeSource";
import { installMocks, isSecretWrapped, promiseOf, settle, unwrapSecret, type RecordingMocks } from "./mocks";

const ROOT = path.resolve(__dirname, "..", "..");
type Provider = pulumi.dynamic.ResourceProvider;
const MODULES = ["pullSecretReference", "pullSecretReferenceRuntime", "pullSecretReferenceProvider"];
const KUBECONFIG_KEY = "aks-acr-cross-tenant:kubeconfig";
const SOURCE_KEY = "aks-acr-cross-tenant:referenceProvider";

/** What pulumi/cmd/dynamic-provider does with a resource's `__provider` text: `requireFromString(text).handler()`. */
function hostLoad(text: string): Provider {
    const requireFromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const requireFromString = requireFromPulumi("require-from-string") as (code: string) => { handler: () => Provider };
    return requireFromString(text).handler();
}

/** The host's `configure`, with its own `Config` over the provider resource's inputs (as the engine sends them). */
async function hostConfigure(provider: Provider, inputs: Record<string, unknown>): Promise<void> {
    const requireFromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const { Config } = requireFromPulumi("./cmd/dynamic-provider/config") as {
        Config: new (raw: Record<string, unknown>, project: string) => pulumi.dynamic.Config;
    };
    const raw = Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key, unwrapSecret(value)]));
    await provider.configure!({ config: new Config(raw, "some-project") });
}

describe("ServiceAccountPullSecret's serialized provider", () => {
    let mocks: RecordingMocks;
    let resourceModule: typeof import("../components/pullSecretTarget/serviceAccountPullSecret");
    let providerModule: typeof import("../components/pullSecretTarget/serviceAccountPullSecretProvider");

    before(async () => {
        mocks = await installMocks();
        resourceModule = await import("../components/pullSecretTarget/serviceAccountPullSecret");
        providerModule = await import("../components/pullSecretTarget/serviceAccountPullSecretProvider");
    });

    it("ships the modules it names, each requiring only earlier ones, packages and Node built-ins", () => {
        assert.deepEqual([...resourceModule.REFERENCE_RUNTIME_MODULES], MODULES);
        for (const typescript of [false, true]) {
            const dir = path.join(typescript ? ROOT : path.join(ROOT, "bin"), "components", "pullSecretTarget");
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

    it("keeps the kubeconfig secret, once, in the references' provider; each reference carries a small stub and no secret", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: SECRET-TOKEN-123}}]";
        const provider = new providerModule.ServiceAccountPullSecretProvider("cluster-references", { kubeconfig });
        const references = ["default", "builder"].map(
            (account) =>
                new resourceModule.ServiceAccountPullSecret(
                    `apps-${account}`,
                    { namespace: "apps", serviceAccount: account, secretName: "acr-cross-tenant-pull" },
                    { provider },
                ),
        );
        await promiseOf(references[1].urn);
        await settle();
        const providerInputs = mocks.named("cluster-references").inputs;
        assert.equal(mocks.named("cluster-references").type, "pulumi:providers:pulumi-nodejs");
        assert.ok(isSecretWrapped(providerInputs[KUBECONFIG_KEY]), "the kubeconfig input is not secret");
        assert.equal(unwrapSecret(providerInputs[KUBECONFIG_KEY]), kubeconfig);
        assert.match(providerInputs[SOURCE_KEY] as string, /planAdd/, "the runtime's source is not in the provider's configuration");
        assert.ok(!(providerInputs[SOURCE_KEY] as string).includes("SECRET-TOKEN-123"), "the runtime's source holds the kubeconfig");
        const texts = new Set<string>();
        for (const account of ["default", "builder"]) {
            const recorded = mocks.named(`apps-${account}`);
            assert.equal(recorded.type, "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret");
            assert.equal(mocks.providerOf(recorded)?.name, "cluster-references");
            assert.deepEqual(
                [recorded.inputs.namespace, recorded.inputs.serviceAccount, recorded.inputs.kubeconfig],
                ["apps", account, undefined],
            );
            const text = recorded.inputs.__provider as string;
            assert.ok(!text.includes("SECRET-TOKEN-123") && !text.includes("planAdd"), "a reference carries the runtime or the kubeconfig");
            assert.ok(text.length < 2_000, `${text.length} characters per reference`);
            texts.add(text);
        }
        assert.equal(texts.size, 1, "every reference carries the same stub");
    });

    it("is loaded by the host's own loader, configured from its provider's inputs, and then runs without a cluster where it can", async () => {
        const provider = hostLoad(mocks.named("apps-default").inputs.__provider as string);
        for (const method of ["configure", "check", "diff", "create", "read", "update", "delete"] as const) {
            assert.equal(typeof provider[method], "function", `the loaded provider lacks ${method}`);
        }
        // Before the engine configures it, it reaches no cluster and says what it lacks.
        await assert.rejects(async () => provider.diff!("id", {}, {}), new RegExp(`not configured with ${KUBECONFIG_KEY}|${SOURCE_KEY}`));
        await hostConfigure(provider, mocks.named("cluster-references").inputs);
        const state = { namespace: "apps", serviceAccount: "default", secretName: "acr", added: true, listed: true };
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
        assert.deepEqual(await provider.diff!("id", state, state), { changes: false, replaces: [], deleteBeforeReplace: false });
        // A reference an earlier version wrote, with the kubeconfig in its own state: one update rewrites it, in place.
        assert.deepEqual(await provider.diff!("id", { ...state, kubeconfig: "old" }, state), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
        // What the program read this run: handed to diff, never stored. A reference that exists and whose entry the
        // program did not find is an update; a new one (no stored inputs) is not drift.
        const identity = { namespace: "apps", serviceAccount: "default", secretName: "acr" };
        const observed = await provider.check!(identity, { ...identity, listedWhenRead: false });
        assert.deepEqual(observed, { inputs: identity, failures: [] });
        assert.equal((await provider.diff!("id", state, observed.inputs)).changes, true);
        const listed = await provider.check!(identity, { ...identity, listedWhenRead: true });
        assert.equal((await provider.diff!("id", state, listed.inputs)).changes, false);
        const created = await provider.check!({}, { ...identity, listedWhenRead: false });
        assert.equal((await provider.diff!("id", state, created.inputs)).changes, false);
        // Every failure of check without a cluster is named, before any request.
        const checked = await provider.check!({}, { namespace: "apps", serviceAccount: "", secretName: "" });
        assert.deepEqual(
            checked.failures?.map((failure) => failure.property),
            ["serviceAccount", "secretName"],
        );
    });

    it("fails to configure naming the key it lacks", async () => {
        const provider = hostLoad(mocks.named("apps-default").inputs.__provider as string);
        await assert.rejects(
            hostConfigure(provider, { [SOURCE_KEY]: mocks.named("cluster-references").inputs[SOURCE_KEY] }),
            new RegExp(`Missing required configuration key: ${KUBECONFIG_KEY}`),
        );
    });
});
