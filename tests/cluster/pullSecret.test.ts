/**
 * The image pull secret delivery under the real engine, against a real API server: what the server holds after
 * `pulumi preview`, `up`, a rotation and `destroy`, read back and compared whole, others' fields included; once as
 * cluster admin and once as a user holding exactly the RBAC the README lists.
 */
import * as assert from "node:assert/strict";
import { DELIVERY_USER, type Api, type Rig, startRig } from "./rig";
import { PulumiWorkspace } from "./pulumi";

const CLIENT_ID = "cccccccc-4444-4444-8444-4444444444c1";
const SECRET_1 = "first~Secret.value_1";
const SECRET_2 = "second~Secret.value_2";
const LOGIN_SERVERS = ["teamregistry.azurecr.io", "sharedregistry.azurecr.io"];
const SECRET_NAME = "acr-cross-tenant-pull";

/**
 * The RBAC the README lists for `imagePullSecret` (get namespaces and service accounts; create, update and delete
 * Secrets; patch service accounts), plus what the Kubernetes provider needs to read back what it manages (get on
 * Secrets), bound in each listed namespace only.
 */
const DELIVERY_RULES = [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "patch"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
];

async function createNamespace(api: Api, name: string): Promise<void> {
    await api.create("/api/v1/namespaces", { metadata: { name, labels: { team: "payments" } } });
}

/** What a namespace and a service account look like to their owners: everything but server bookkeeping. */
function ownersView(object: { metadata: Record<string, unknown> } & Record<string, unknown>): unknown {
    const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = object.metadata;
    return { ...object, metadata };
}

async function read(api: Api, apiPath: string): Promise<{ metadata: Record<string, unknown> } & Record<string, unknown>> {
    const response = await api.get(apiPath);
    assert.equal(response.status, 200, `GET ${apiPath} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body as { metadata: Record<string, unknown> } & Record<string, unknown>;
}

function serviceAccountPath(namespace: string, name: string): string {
    return `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`;
}

function secretPath(namespace: string): string {
    return `/api/v1/namespaces/${namespace}/secrets/${SECRET_NAME}`;
}

function decodeDockerConfig(secret: Record<string, unknown>): {
    auths: Record<string, { username: string; password: string; auth: string }>;
} {
    const data = secret.data as Record<string, string>;
    return JSON.parse(Buffer.from(data[".dockerconfigjson"], "base64").toString("utf8")) as {
        auths: Record<string, { username: string; password: string; auth: string }>;
    };
}

describe("image pull secret delivery on a real API server, under the Pulumi engine", function () {
    // The first run on a machine builds the rig (minutes); later runs start it in seconds.
    this.timeout(600_000);
    let rig: Rig;

    before(async function () {
        this.timeout(0);
        rig = await startRig();
    });
    after(async () => {
        await rig?.stop();
    });

    for (const who of ["cluster admin", "the least-privilege user"] as const) {
        describe(`as ${who}`, () => {
            const tag = who === "cluster admin" ? "admin" : "least";
            const namespaces = [`${tag}-apps`, `${tag}-jobs`];
            let workspace: PulumiWorkspace;
            /** Each namespace and service account as its owners left it before our first run. */
            const original = new Map<string, unknown>();

            before(async () => {
                for (const namespace of namespaces) {
                    await createNamespace(rig.admin, namespace);
                    // Another team's service account, labelled and annotated by them.
                    await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
                        metadata: { name: "builder", labels: { owner: "ci" }, annotations: { "example.com/purpose": "builds" } },
                    });
                }
                const user = who === "cluster admin" ? "admin" : DELIVERY_USER;
                if (user === DELIVERY_USER) {
                    for (const namespace of namespaces) {
                        await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
                            metadata: { name: "acr-pull-delivery" },
                            rules: DELIVERY_RULES,
                        });
                        await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
                            metadata: { name: "acr-pull-delivery" },
                            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "acr-pull-delivery" },
                            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DELIVERY_USER }],
                        });
                    }
                }
                workspace = await PulumiWorkspace.create(rig.binaries, "pullSecret");
                await workspace.setAllConfig(
                    {
                        kubeconfig: rig.kubeconfig(user),
                        namespaces,
                        serviceAccounts: ["default", "builder"],
                        clientId: CLIENT_ID,
                        clientSecret: SECRET_1,
                        loginServers: LOGIN_SERVERS,
                    },
                    ["kubeconfig", "clientSecret"],
                );
                // The controller manager gives every namespace its default service account.
                for (const namespace of namespaces) {
                    for (const account of ["default", "builder"]) {
                        const path = serviceAccountPath(namespace, account);
                        for (let tries = 0; (await rig.admin.get(path)).status !== 200; tries++) {
                            assert.ok(tries < 100, `${path} never appeared`);
                            await new Promise((resolve) => setTimeout(resolve, 100));
                        }
                        original.set(path, ownersView(await read(rig.admin, path)));
                    }
                    original.set(`/api/v1/namespaces/${namespace}`, ownersView(await read(rig.admin, `/api/v1/namespaces/${namespace}`)));
                }
            });
            after(() => workspace?.dispose());

            it("preview lists the Secrets and references and creates nothing", async () => {
                const result = await workspace.preview();
                for (const namespace of namespaces) {
                    assert.match(result.output, new RegExp(`rig-${namespace}-pull-secret`), result.output);
                    assert.equal((await rig.admin.get(secretPath(namespace))).status, 404, "preview created a Secret");
                }
                assert.ok(!result.output.includes(SECRET_1), "the preview printed the client secret");
            });

            it("up creates each Secret with every registry and adds it to each service account", async () => {
                const result = await workspace.up();
                assert.ok(!result.output.includes(SECRET_1), "up printed the client secret");
                for (const namespace of namespaces) {
                    const secret = await read(rig.admin, secretPath(namespace));
                    assert.equal(secret.type, "kubernetes.io/dockerconfigjson");
                    const auths = decodeDockerConfig(secret).auths;
                    assert.deepEqual(Object.keys(auths).sort(), [...LOGIN_SERVERS].sort());
                    for (const server of LOGIN_SERVERS) {
                        assert.equal(auths[server].username, CLIENT_ID);
                        assert.equal(auths[server].password, SECRET_1);
                        assert.equal(Buffer.from(auths[server].auth, "base64").toString("utf8"), `${CLIENT_ID}:${SECRET_1}`);
                    }
                    for (const account of ["default", "builder"]) {
                        const path = serviceAccountPath(namespace, account);
                        const live = await read(rig.admin, path);
                        assert.deepEqual(live.imagePullSecrets, [{ name: SECRET_NAME }], `${path} after up`);
                        // Everything else its owners set is as it was.
                        const { imagePullSecrets: _ours, ...rest } = ownersView(live) as Record<string, unknown>;
                        assert.deepEqual(rest, original.get(path), `${path} changed beyond its imagePullSecrets`);
                    }
                }
                const outputs = await workspace.outputs();
                assert.deepEqual(
                    outputs.pullSecretRefs,
                    namespaces.map((namespace) => `${namespace}/${SECRET_NAME}`),
                );
            });

            it("a new client secret updates each Secret in place and touches no service account", async () => {
                const uids = new Map<string, unknown>();
                const accountVersions = new Map<string, unknown>();
                for (const namespace of namespaces) {
                    uids.set(namespace, (await read(rig.admin, secretPath(namespace))).metadata.uid);
                    for (const account of ["default", "builder"]) {
                        const path = serviceAccountPath(namespace, account);
                        accountVersions.set(path, (await read(rig.admin, path)).metadata.resourceVersion);
                    }
                }
                await workspace.setConfig("clientSecret", SECRET_2, { secret: true });
                const preview = await workspace.preview();
                assert.doesNotMatch(preview.output, /replace/, `a rotation must not replace anything:\n${preview.output}`);
                const result = await workspace.up();
                assert.ok(!result.output.includes(SECRET_2), "up printed the new client secret");
                assert.match(result.output, /2 updated/, result.output);
                for (const namespace of namespaces) {
                    const secret = await read(rig.admin, secretPath(namespace));
                    assert.equal(secret.metadata.uid, uids.get(namespace), `${namespace}'s Secret was deleted and re-created`);
                    for (const server of LOGIN_SERVERS) {
                        assert.equal(decodeDockerConfig(secret).auths[server].password, SECRET_2);
                    }
                }
                for (const [path, version] of accountVersions) {
                    assert.equal((await read(rig.admin, path)).metadata.resourceVersion, version, `${path} was written during a rotation`);
                }
            });

            it("destroy deletes the Secrets and leaves every namespace and service account as it was", async () => {
                await workspace.destroy();
                for (const namespace of namespaces) {
                    assert.equal((await rig.admin.get(secretPath(namespace))).status, 404, `${namespace}'s Secret is still there`);
                }
                for (const [path, view] of original) {
                    assert.deepEqual(ownersView(await read(rig.admin, path)), view, `${path} differs from before our first run`);
                }
            });
        });
    }

    describe("existence checks", () => {
        let workspace: PulumiWorkspace;
        before(async () => {
            await createNamespace(rig.admin, "checked");
            workspace = await PulumiWorkspace.create(rig.binaries, "pullSecret");
            await workspace.setAllConfig(
                { kubeconfig: rig.kubeconfig(), clientId: CLIENT_ID, clientSecret: SECRET_1, loginServers: LOGIN_SERVERS },
                ["kubeconfig", "clientSecret"],
            );
        });
        after(() => workspace?.dispose());

        it("a missing namespace fails the preview naming it, and nothing is created", async () => {
            await workspace.setConfig("namespaces", ["checked", "no-such-namespace"]);
            const result = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
            assert.match(result.output, /no-such-namespace/, result.output);
            assert.equal((await rig.admin.get(`/api/v1/namespaces/checked/secrets/${SECRET_NAME}`)).status, 404);
        });

        it("a missing service account fails the preview naming it, and nothing is created", async () => {
            await workspace.setConfig("namespaces", ["checked"]);
            await workspace.setConfig("serviceAccounts", ["default", "no-such-account"]);
            const result = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
            assert.match(result.output, /checked\/no-such-account/, result.output);
            const up = await workspace.expectFailure(["up", "--stack", workspace.stack, "--non-interactive", "--yes", "--skip-preview"]);
            assert.match(up.output, /checked\/no-such-account/, up.output);
            assert.equal((await rig.admin.get(`/api/v1/namespaces/checked/secrets/${SECRET_NAME}`)).status, 404, "up created a Secret");
            assert.equal((await read(rig.admin, serviceAccountPath("checked", "default"))).imagePullSecrets, undefined);
        });
    });
});
