/**
 * Previews that announce only what `up` then does, under the real engine on a real API server: after each change the
 * issue found a preview lying about (a re-created `default` service account, a namespace added, a namespace the stack
 * creates added, a list another tool applies as `[]`), `preview --json` and `up --json` are compared step for step,
 * and every refusal `up` makes, the preview makes first. Then the references under contention: one connection per
 * provider process, and an `up` and a `destroy` that converge while another writer patches the same service accounts
 * every 50 ms.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addReference, coreV1Api, removeReference } from "../../components/pullSecretTarget/pullSecretReferenceRuntime";
import { type Rig, startRig, waitFor } from "./rig";
import { PulumiWorkspace, type PulumiResult } from "./pulumi";

const CLIENT_ID = "cccccccc-4444-4444-8444-4444444444c1";
const SECRET_NAME = "acr-cross-tenant-pull";
const SECRET_TYPE = "kubernetes:core/v1:Secret";
const REFERENCE_TYPE = "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret";
/** The module object itself (not an import's copy of its bindings), so a test can count the connections made. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tls = require("node:tls") as typeof import("node:tls");

/** What the engine said it would do (a preview) or did (an update): the count per operation, and each step. */
interface Announced {
    /** Operation -> count, `same` included. */
    readonly summary: Record<string, number>;
    /** `op type name` of every step that is not `same`, sorted. */
    readonly changes: string[];
}

interface EngineStep {
    readonly op: string;
    readonly urn: string;
}

/** `op type name` of a step, for a step that changes something (default providers are the engine's own). */
function change(step: EngineStep): string[] {
    const parts = step.urn.split("::");
    const type = parts[2].split("$").pop() ?? "";
    if (step.op === "same" || (type.startsWith("pulumi:providers:") && parts[3].startsWith("default"))) return [];
    return [`${step.op} ${type} ${parts[3]}`];
}

/**
 * Parses what `preview --json` printed (one document: its steps and their counts) or `up --json` (the engine's event
 * stream, one JSON object per line: a `resOutputsEvent` per step done, a `summaryEvent` with the counts).
 */
function announced(result: PulumiResult): Announced {
    const text = result.stdout.trim();
    if (!text.startsWith('{"sequence"')) {
        const parsed = JSON.parse(text) as { steps?: EngineStep[]; changeSummary?: Record<string, number> };
        return { summary: parsed.changeSummary ?? {}, changes: (parsed.steps ?? []).flatMap(change).sort() };
    }
    const steps: EngineStep[] = [];
    let summary: Record<string, number> = {};
    for (const line of text.split("\n")) {
        const event = JSON.parse(line) as {
            resOutputsEvent?: { metadata: EngineStep };
            summaryEvent?: { resourceChanges?: Record<string, number> };
        };
        if (event.resOutputsEvent) steps.push(event.resOutputsEvent.metadata);
        if (event.summaryEvent) summary = event.summaryEvent.resourceChanges ?? {};
    }
    return { summary, changes: steps.flatMap(change).sort() };
}

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
/** The last version whose references carried the kubeconfig and the runtime each (main's head before the twin). */
const REFERENCES_WITH_KUBECONFIG = "44a5c13";

/**
 * The test stacks as `commit` had them, with its components, compiled with this checkout's packages into a scratch
 * directory; returns where the compiled stacks are, and how to remove it all.
 */
function earlierStacks(commit: string): { readonly stacksDir: string; dispose(): void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-earlier-"));
    const archive = execFileSync("git", [
        "-C",
        REPO_ROOT,
        "archive",
        "--format=tar",
        commit,
        "components",
        "tests/cluster/stacks",
        "tsconfig.json",
    ]);
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(
        path.join(dir, "tsconfig.stacks.json"),
        JSON.stringify({
            extends: "./tsconfig.json",
            include: ["components/**/*.ts", "tests/cluster/stacks/**/*.ts"],
            compilerOptions: { types: ["node"] },
        }),
    );
    execFileSync(process.execPath, [path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.stacks.json"], {
        cwd: dir,
    });
    return {
        stacksDir: path.join(dir, "bin", "tests", "cluster", "stacks"),
        dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

/** A stack of the `pullSecret` test program with the fixed credentials and the given settings. */
async function stack(rig: Rig, settings: Readonly<Record<string, unknown>>): Promise<PulumiWorkspace> {
    const workspace = await PulumiWorkspace.create(rig.binaries, "pullSecret");
    await workspace.setAllConfig(
        {
            kubeconfig: rig.kubeconfig(),
            clientId: CLIENT_ID,
            clientSecret: "first~Secret.value_1",
            loginServers: ["teamregistry.azurecr.io"],
            ...settings,
        },
        ["kubeconfig", "clientSecret"],
    );
    return workspace;
}

/** A refresh that must find the stack exactly as the last `up` left it. */
async function refreshFindsNothing(workspace: PulumiWorkspace): Promise<void> {
    await workspace.expectSuccess(["refresh", "--stack", workspace.stack, "--non-interactive", "--yes", "--expect-no-changes"]);
}

/** Previews, then updates, and asserts the update did exactly what the preview announced; returns both. */
async function previewThenUp(workspace: PulumiWorkspace): Promise<{ preview: Announced; up: Announced }> {
    const preview = announced(await workspace.expectSuccess(["preview", "--stack", workspace.stack, "--non-interactive", "--json"]));
    const up = announced(
        await workspace.expectSuccess(["up", "--stack", workspace.stack, "--non-interactive", "--yes", "--skip-preview", "--json"]),
    );
    assert.deepEqual(up.changes, preview.changes, "up did other steps than the preview announced");
    assert.deepEqual(up.summary, preview.summary, "up's counts differ from the preview's");
    return { preview, up };
}

function serviceAccountPath(namespace: string, name: string): string {
    return `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`;
}

interface LiveServiceAccount {
    metadata: { uid: string; resourceVersion: string; annotations?: Record<string, string> };
    imagePullSecrets?: { name: string }[];
}

describe("previews that announce what up does, on a real API server", function () {
    this.timeout(900_000);
    let rig: Rig;
    const workspaces: PulumiWorkspace[] = [];

    async function live(namespace: string, name: string): Promise<LiveServiceAccount> {
        const response = await rig.admin.get(serviceAccountPath(namespace, name));
        assert.equal(response.status, 200, `GET ${serviceAccountPath(namespace, name)}: ${response.status}`);
        return response.body as LiveServiceAccount;
    }

    /** A namespace, once the controller manager has given it its `default` service account. */
    async function namespaceWithDefault(name: string): Promise<void> {
        await rig.admin.create("/api/v1/namespaces", { metadata: { name } });
        await waitFor(`${name}/default`, 30_000, async () =>
            (await rig.admin.get(serviceAccountPath(name, "default"))).status === 200 ? true : undefined,
        );
    }

    async function workspace(settings: Readonly<Record<string, unknown>>): Promise<PulumiWorkspace> {
        const created = await stack(rig, settings);
        workspaces.push(created);
        return created;
    }

    before(async function () {
        this.timeout(0);
        rig = await startRig();
    });
    after(async () => {
        for (const created of workspaces) created.dispose();
        await rig?.stop();
    });

    it("after the default service account is re-created, the preview announces the reference's update, and up puts our entry back", async () => {
        await namespaceWithDefault("recreated");
        const deployed = await workspace({ namespaces: ["recreated"] });
        await deployed.up();
        const before = await live("recreated", "default");
        assert.deepEqual(before.imagePullSecrets, [{ name: SECRET_NAME }]);

        // Deleted (say, by someone cleaning up), and re-created by the controller manager without our entry.
        assert.equal((await rig.admin.delete(serviceAccountPath("recreated", "default"))).status, 200);
        const again = await waitFor("a new default service account", 30_000, async () => {
            const response = await rig.admin.get(serviceAccountPath("recreated", "default"));
            const body = response.body as LiveServiceAccount;
            return response.status === 200 && body.metadata.uid !== before.metadata.uid ? body : undefined;
        });
        assert.equal(again.imagePullSecrets, undefined);

        const { preview } = await previewThenUp(deployed);
        assert.deepEqual(preview.changes, [`update ${REFERENCE_TYPE} rig-recreated-default-image-pull-secret`], JSON.stringify(preview));
        assert.equal(preview.summary.replace, undefined, "a replacement announced");
        assert.deepEqual((await live("recreated", "default")).imagePullSecrets, [{ name: SECRET_NAME }], "up did not put our entry back");
        // And then nothing more to do, and a refresh agrees.
        const settled = await previewThenUp(deployed);
        assert.deepEqual(settled.preview.changes, []);
        await refreshFindsNothing(deployed);
        await deployed.destroy();
        assert.equal((await live("recreated", "default")).imagePullSecrets, undefined);
    });

    it("adding a namespace, the preview announces its Secret and reference and nothing else, as up does", async () => {
        await namespaceWithDefault("grow-a");
        await namespaceWithDefault("grow-b");
        const growing = await workspace({ namespaces: ["grow-a"] });
        await growing.up();
        const versionA = (await live("grow-a", "default")).metadata.resourceVersion;

        // Right after the first up, the references' stored inputs still say "not listed" (what was read before they
        // added their entries): a refresh must not take that for drift.
        await refreshFindsNothing(growing);
        await growing.setConfig("namespaces", ["grow-a", "grow-b"]);
        const { preview } = await previewThenUp(growing);
        assert.deepEqual(preview.changes, [
            `create ${SECRET_TYPE} rig-grow-b-pull-secret`,
            `create ${REFERENCE_TYPE} rig-grow-b-default-image-pull-secret`,
        ]);
        assert.deepEqual((await live("grow-b", "default")).imagePullSecrets, [{ name: SECRET_NAME }]);
        assert.equal((await live("grow-a", "default")).metadata.resourceVersion, versionA, "the existing namespace's list was written");
        await growing.destroy();
    });

    it("adding a namespace the stack creates, the preview shows the grant and the other namespaces unchanged, as up does", async () => {
        await namespaceWithDefault("pr-a");
        const pull = await workspace({ namespaces: ["pr-a"] });
        await pull.up();

        // A pull request that creates a namespace and delivers to it: its checks cannot run in the preview.
        await pull.setAllConfig({ namespaces: ["pr-a", "pr-b"], createdNamespaces: ["pr-b"] });
        const { preview } = await previewThenUp(pull);
        // The stand-in grant (held until every check passes, as the component holds the application) is not among them.
        assert.deepEqual(preview.changes, [
            "create kubernetes:core/v1:Namespace rig-pr-b",
            `create ${SECRET_TYPE} rig-pr-b-pull-secret`,
            `create ${REFERENCE_TYPE} rig-pr-b-default-image-pull-secret`,
        ]);
        assert.deepEqual((await live("pr-b", "default")).imagePullSecrets, [{ name: SECRET_NAME }]);
        await pull.destroy();
    });

    it("a list another tool applies as [] stops the preview first, naming that tool, and then up; nothing is created", async () => {
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: "applied-empty" } });
        const path = serviceAccountPath("applied-empty", "deployer");
        const applied = await rig.admin.apply(
            path,
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer" }, imagePullSecrets: [] },
            "gitops-tool",
        );
        assert.equal(applied.status, 201, JSON.stringify(applied.body));
        const version = (await live("applied-empty", "deployer")).metadata.resourceVersion;
        const refused = await workspace({ namespaces: ["applied-empty"], serviceAccounts: ["deployer"] });

        const preview = await refused.expectFailure(["preview", "--stack", refused.stack, "--non-interactive"]);
        assert.match(
            preview.output,
            /Service account applied-empty\/deployer: its imagePullSecrets list is owned by server-side apply \(field manager "gitops-tool"\)/,
            preview.output,
        );
        const up = await refused.expectFailure(["up", "--stack", refused.stack, "--non-interactive", "--yes", "--skip-preview"]);
        assert.match(up.output, /field manager "gitops-tool"/, up.output);
        assert.equal((await rig.admin.get(`/api/v1/namespaces/applied-empty/secrets/${SECRET_NAME}`)).status, 404, "up created a Secret");
        assert.equal((await live("applied-empty", "deployer")).metadata.resourceVersion, version, "the applied list was written");
        // Not even the grant or the references' provider reached the engine.
        const left = ((await refused.state()).deployment.resources ?? []).map(
            (resource) => `${resource.type}::${resource.urn.split("::").pop()}`,
        );
        for (const unexpected of [
            SECRET_TYPE,
            REFERENCE_TYPE,
            "pulumi:providers:pulumi-nodejs::rig-references",
            "pulumi-nodejs:dynamic:Resource",
        ]) {
            assert.ok(
                !left.some((entry) => entry.startsWith(unexpected)),
                `a refused up left ${unexpected} in the state: ${left.join(", ")}`,
            );
        }
    });

    it("upgrading references that carry the kubeconfig, the preview announces an update of each and nothing replaced, as up does", async () => {
        const namespace = "upgrade-refs";
        await namespaceWithDefault(namespace);
        await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
            metadata: { name: "builder" },
            imagePullSecrets: [{ name: "team-registry" }],
        });
        const earlier = earlierStacks(REFERENCES_WITH_KUBECONFIG);
        try {
            const deployed = await PulumiWorkspace.create(rig.binaries, "pullSecret", {}, earlier.stacksDir);
            workspaces.push(deployed);
            await deployed.setAllConfig(
                {
                    kubeconfig: rig.kubeconfig(),
                    clientId: CLIENT_ID,
                    clientSecret: "first~Secret.value_1",
                    loginServers: ["teamregistry.azurecr.io"],
                    namespaces: [namespace],
                    serviceAccounts: ["default", "builder"],
                },
                ["kubeconfig", "clientSecret"],
            );
            await deployed.up();
            const references = async (
                workspace: PulumiWorkspace,
            ): Promise<{ inputs: Record<string, unknown>; outputs: Record<string, unknown> }[]> =>
                ((await workspace.state()).deployment.resources ?? [])
                    .filter((resource) => resource.type === REFERENCE_TYPE)
                    .map((resource) => resource as unknown as { inputs: Record<string, unknown>; outputs: Record<string, unknown> });
            for (const reference of await references(deployed)) {
                assert.notEqual(reference.inputs.kubeconfig, undefined, "the earlier version's reference holds no kubeconfig");
                assert.ok(String(reference.outputs.__provider).length > 10_000, "the earlier version's reference holds no runtime");
            }
            const versions = new Map<string, string>();
            for (const account of ["default", "builder"]) versions.set(account, (await live(namespace, account)).metadata.resourceVersion);

            const upgraded = deployed.moveTo(path.resolve(__dirname, "stacks"), "pullSecret");
            workspaces.push(upgraded);
            const { preview } = await previewThenUp(upgraded);
            // The stand-in grant (and its provider) is new to this test stack; the earlier version's reads leave the state
            // (no request).
            assert.deepEqual(preview.changes, [
                "create pulumi-nodejs:dynamic:Resource rig-grant",
                "create pulumi:providers:pulumi-nodejs rig-grant-provider",
                "create pulumi:providers:pulumi-nodejs rig-references",
                `discard kubernetes:core/v1:Namespace rig-${namespace}-namespace`,
                `discard kubernetes:core/v1:ServiceAccount rig-${namespace}-builder-service-account`,
                `discard kubernetes:core/v1:ServiceAccount rig-${namespace}-default-service-account`,
                `update ${REFERENCE_TYPE} rig-${namespace}-builder-image-pull-secret`,
                `update ${REFERENCE_TYPE} rig-${namespace}-default-image-pull-secret`,
            ]);
            for (const account of ["default", "builder"]) {
                const found = await live(namespace, account);
                assert.equal(found.metadata.resourceVersion, versions.get(account), `the upgrade wrote ${namespace}/${account}`);
            }
            for (const reference of await references(upgraded)) {
                for (const state of [reference.inputs, reference.outputs]) {
                    assert.equal(state.kubeconfig, undefined, "an upgraded reference still holds the kubeconfig");
                    assert.ok(String(state.__provider).length < 2_000, "an upgraded reference still holds the runtime");
                }
                assert.equal(reference.outputs.added, true);
            }
            assert.deepEqual((await previewThenUp(upgraded)).preview.changes, []);
            await upgraded.destroy();
            assert.equal((await live(namespace, "default")).imagePullSecrets, undefined);
            assert.deepEqual((await live(namespace, "builder")).imagePullSecrets, [{ name: "team-registry" }]);
        } finally {
            earlier.dispose();
        }
    });

    describe("under contention", () => {
        const NAMESPACE = "contended";
        const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `worker-${String(i).padStart(2, "0")}`);

        before(async () => {
            await rig.admin.create("/api/v1/namespaces", { metadata: { name: NAMESPACE } });
            for (const account of ACCOUNTS) {
                await rig.admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { metadata: { name: account } });
            }
        });

        /**
         * Another writer: every `periodMs`, a plain update of every service account's annotations, all at once, until
         * stopped. Each write changes the resourceVersion our guard of an absent list tests. Returns how to stop it
         * and how many writes it made.
         */
        function writer(periodMs: number): { stop(): Promise<number> } {
            let running = true;
            let writes = 0;
            const loop = (async () => {
                for (let tick = 0; running; tick++) {
                    const started = Date.now();
                    await Promise.all(
                        ACCOUNTS.map(async (account) => {
                            const response = await rig.admin.request(
                                "PATCH",
                                `${serviceAccountPath(NAMESPACE, account)}?fieldManager=busy-writer`,
                                { metadata: { annotations: { "example.com/tick": String(tick) } } },
                                "application/merge-patch+json",
                            );
                            if (response.status === 200) writes++;
                        }),
                    );
                    await new Promise((resolve) => setTimeout(resolve, Math.max(0, periodMs - (Date.now() - started))));
                }
            })();
            return {
                async stop() {
                    running = false;
                    await loop;
                    return writes;
                },
            };
        }

        it("the references send every request of a process on one connection, a round trip between read and patch", async () => {
            const connect = tls.connect;
            let connections = 0;
            const counting = ((...args: Parameters<typeof tls.connect>) => {
                connections++;
                return connect(...args);
            }) as typeof tls.connect;
            (tls as { connect: typeof tls.connect }).connect = counting;
            const api = coreV1Api(rig.kubeconfig());
            const windows: number[] = [];
            const read = api.readNamespacedServiceAccount.bind(api);
            const patch = api.patchNamespacedServiceAccount.bind(api);
            // From the read's answer to the patch's: longer than the time the API server's copy can change in between.
            let readAt = 0;
            api.readNamespacedServiceAccount = async (...args) => {
                const answer = await read(...args);
                readAt = performance.now();
                return answer;
            };
            api.patchNamespacedServiceAccount = async (...args) => {
                const answer = await patch(...args);
                windows.push(performance.now() - readAt);
                return answer;
            };
            try {
                for (const account of ACCOUNTS.slice(0, 10)) {
                    await addReference(api, { namespace: NAMESPACE, serviceAccount: account, secretName: SECRET_NAME });
                }
                for (const account of ACCOUNTS.slice(0, 10)) {
                    await removeReference(api, { namespace: NAMESPACE, serviceAccount: account, secretName: SECRET_NAME });
                }
            } finally {
                (tls as { connect: typeof tls.connect }).connect = connect;
                api.readNamespacedServiceAccount = read;
                api.patchNamespacedServiceAccount = patch;
            }
            const sorted = [...windows].sort((a, b) => a - b);
            console.log(
                `      (${windows.length} patches on ${connections} connection(s); read-to-patch median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms)`,
            );
            assert.ok(connections <= 1, `${connections} TLS connections for 40 requests`);
            for (const account of ACCOUNTS.slice(0, 10)) {
                assert.equal((await live(NAMESPACE, account)).imagePullSecrets, undefined);
            }
        });

        it("up and destroy converge while another writer patches the same 20 service accounts every 50 ms; nothing is lost", async () => {
            const contended = await workspace({ namespaces: [NAMESPACE], serviceAccounts: ACCOUNTS });
            for (let run = 1; run <= 3; run++) {
                const busy = writer(50);
                let writes: number;
                try {
                    await contended.up();
                } finally {
                    writes = await busy.stop();
                }
                const lastTick = (await live(NAMESPACE, ACCOUNTS[0])).metadata.annotations?.["example.com/tick"];
                for (const account of ACCOUNTS) {
                    const found = await live(NAMESPACE, account);
                    assert.deepEqual(found.imagePullSecrets, [{ name: SECRET_NAME }], `${account} after up ${run}`);
                    // The writer's own changes all landed too: none was overwritten by ours.
                    assert.equal(found.metadata.annotations?.["example.com/tick"], lastTick, `${account} lost the writer's last write`);
                }
                const again = writer(50);
                try {
                    await contended.destroy();
                } finally {
                    writes += await again.stop();
                }
                for (const account of ACCOUNTS) {
                    assert.equal((await live(NAMESPACE, account)).imagePullSecrets, undefined, `${account} after destroy ${run}`);
                }
                console.log(`      (run ${run}: the other writer made ${writes} writes during up and destroy)`);
            }
        });
    });
});
