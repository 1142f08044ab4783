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

/** Pod injection's RBAC in each listed namespace: the Secret, and the namespace read. */
const POD_INJECTION_NAMESPACE_RULES = [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
];

/** Pod injection's cluster-scoped RBAC: the admission policy and its binding. */
const POD_INJECTION_CLUSTER_RULES = [
    {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingadmissionpolicies", "mutatingadmissionpolicybindings"],
        verbs: ["get", "list", "watch", "create", "patch", "delete"],
    },
];

async function createNamespace(api: Api, name: string): Promise<void> {
    await api.create("/api/v1/namespaces", { metadata: { name, labels: { team: "payments" } } });
}

/** A workspace of the test stack for `user`, with the fixed credentials and the given settings. */
async function pullSecretStack(rig: Rig, user: string, settings: Readonly<Record<string, unknown>>): Promise<PulumiWorkspace> {
    const workspace = await PulumiWorkspace.create(rig.binaries, "pullSecret");
    await workspace.setAllConfig(
        { kubeconfig: rig.kubeconfig(user), clientId: CLIENT_ID, clientSecret: SECRET_1, loginServers: LOGIN_SERVERS, ...settings },
        ["kubeconfig", "clientSecret"],
    );
    return workspace;
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
                    // Another team's service account, labelled and annotated by them, with their own pull secret.
                    await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
                        metadata: { name: "builder", labels: { owner: "ci" }, annotations: { "example.com/purpose": "builds" } },
                        imagePullSecrets: [{ name: "ci-registry" }],
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
                workspace = await pullSecretStack(rig, user, { namespaces, serviceAccounts: ["default", "builder"] });
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
                        // Ours after theirs; nobody's entry rewritten.
                        const theirs = account === "builder" ? [{ name: "ci-registry" }] : [];
                        assert.deepEqual(live.imagePullSecrets, [...theirs, { name: SECRET_NAME }], `${path} after up`);
                        // Everything else its owners set is as it was.
                        const { imagePullSecrets: _after, ...rest } = ownersView(live) as Record<string, unknown>;
                        const { imagePullSecrets: _before, ...was } = original.get(path) as Record<string, unknown>;
                        assert.deepEqual(rest, was, `${path} changed beyond its imagePullSecrets`);
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
            workspace = await pullSecretStack(rig, "admin", {});
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

    describe("a list another tool applies with server-side apply", () => {
        let workspace: PulumiWorkspace;
        const path = serviceAccountPath("gitops", "deployer");
        before(async () => {
            await createNamespace(rig.admin, "gitops");
            const applied = await rig.admin.apply(
                path,
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer" }, imagePullSecrets: [{ name: "team-registry" }] },
                "argocd-controller",
            );
            assert.equal(applied.status, 201, JSON.stringify(applied.body));
            workspace = await pullSecretStack(rig, "admin", { namespaces: ["gitops"], serviceAccounts: ["deployer"] });
        });
        after(() => workspace?.dispose());

        it("fails the preview and up --skip-preview naming the field manager; nothing is created or written", async () => {
            const before = await read(rig.admin, path);
            const preview = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
            assert.match(
                preview.output,
                /Service account gitops\/deployer: its imagePullSecrets list is owned by server-side apply/,
                preview.output,
            );
            assert.match(preview.output, /field manager "argocd-controller"/);
            const up = await workspace.expectFailure(["up", "--stack", workspace.stack, "--non-interactive", "--yes", "--skip-preview"]);
            assert.match(up.output, /field manager "argocd-controller"/, up.output);
            assert.equal((await rig.admin.get(`/api/v1/namespaces/gitops/secrets/${SECRET_NAME}`)).status, 404, "up created a Secret");
            assert.equal((await read(rig.admin, path)).metadata.resourceVersion, before.metadata.resourceVersion, "the list was written");
        });

        it("goes on once that tool's manifest lists our entry, and destroy leaves that list alone", async () => {
            const applied = await rig.admin.apply(
                path,
                {
                    apiVersion: "v1",
                    kind: "ServiceAccount",
                    metadata: { name: "deployer" },
                    imagePullSecrets: [{ name: "team-registry" }, { name: SECRET_NAME }],
                },
                "argocd-controller",
            );
            assert.equal(applied.status, 200, JSON.stringify(applied.body));
            const version = (await read(rig.admin, path)).metadata.resourceVersion;
            await workspace.up();
            assert.equal((await read(rig.admin, path)).metadata.resourceVersion, version, "up wrote an applied list");
            await workspace.destroy();
            assert.deepEqual((await read(rig.admin, path)).imagePullSecrets, [{ name: "team-registry" }, { name: SECRET_NAME }]);
        });
    });

    describe("a stack deployed with ServiceAccountPatch, upgraded", () => {
        let workspace: PulumiWorkspace;
        const namespace = "upgraded";
        before(async () => {
            await createNamespace(rig.admin, namespace);
            await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: "builder" } });
            workspace = await pullSecretStack(rig, "admin", {
                namespaces: [namespace],
                serviceAccounts: ["builder"],
                formerDelivery: true,
            });
        });
        after(() => workspace?.dispose());

        /** The field managers that own the list, with their operations. */
        async function listOwners(): Promise<string[]> {
            const live = await read(rig.admin, serviceAccountPath(namespace, "builder"));
            return ((live.metadata.managedFields ?? []) as { manager: string; operation: string; fieldsV1?: object }[])
                .filter((entry) => entry.fieldsV1 !== undefined && "f:imagePullSecrets" in entry.fieldsV1)
                .map((entry) => `${entry.manager}:${entry.operation}`);
        }

        it("keeps the entry through the upgrade, owned by the new reference, and destroy removes it", async () => {
            await workspace.up();
            const path = serviceAccountPath(namespace, "builder");
            assert.deepEqual((await read(rig.admin, path)).imagePullSecrets, [{ name: SECRET_NAME }]);
            const [former] = await listOwners();
            assert.match(former, /^pulumi-kubernetes-[0-9a-f]{8}:Apply$/, "the earlier version's patch owns the list");
            const uid = (await read(rig.admin, secretPath(namespace))).metadata.uid;

            await workspace.setConfig("formerDelivery", false);
            const preview = await workspace.preview();
            assert.match(preview.output, /rig-upgraded-builder-image-pull-secret/, preview.output);
            const up = await workspace.up();
            // The reference, and the provider that every reference of the stack shares (it holds the kubeconfig).
            assert.match(up.output, /2 created/, up.output);
            assert.match(up.output, /1 deleted/, up.output);
            assert.deepEqual((await read(rig.admin, path)).imagePullSecrets, [{ name: SECRET_NAME }], "the upgrade lost our entry");
            assert.deepEqual(await listOwners(), ["aks-acr-cross-tenant:Update"]);
            assert.equal((await read(rig.admin, secretPath(namespace))).metadata.uid, uid, "the Secret was re-created");

            // A second run changes nothing; destroy removes the entry the earlier version added.
            const again = await workspace.preview();
            assert.doesNotMatch(again.output, /[1-9]\d* to (create|update|delete|replace)/, again.output);
            await workspace.destroy();
            assert.equal((await read(rig.admin, path)).imagePullSecrets, undefined);
        });
    });

    describe("pod injection", () => {
        let workspace: PulumiWorkspace;
        const listed = "injected";
        const unlisted = "not-injected";
        let counter = 0;

        /**
         * Creates a pod (there is no kubelet: it stays Pending) and returns its imagePullSecrets as admitted; with
         * `dryRun`, admits it without storing it.
         */
        async function createPod(namespace: string, own?: { name: string }[], dryRun = false): Promise<{ name: string }[] | undefined> {
            const response = await rig.admin.request("POST", `/api/v1/namespaces/${namespace}/pods${dryRun ? "?dryRun=All" : ""}`, {
                metadata: { name: `pod-${++counter}` },
                spec: {
                    containers: [{ name: "app", image: "teamregistry.azurecr.io/app:1" }],
                    ...(own ? { imagePullSecrets: own } : {}),
                },
            });
            assert.equal(response.status, 201, JSON.stringify(response.body));
            return (response.body as { spec: { imagePullSecrets?: { name: string }[] } }).spec.imagePullSecrets;
        }

        before(async () => {
            for (const namespace of [listed, unlisted]) {
                await createNamespace(rig.admin, namespace);
                const path = serviceAccountPath(namespace, "default");
                for (let tries = 0; (await rig.admin.get(path)).status !== 200; tries++) {
                    assert.ok(tries < 100, `${path} never appeared`);
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                const patched = await rig.admin.jsonPatch(path, [
                    { op: "add", path: "/imagePullSecrets", value: [{ name: "sa-registry" }] },
                ]);
                assert.equal(patched.status, 200);
            }
            // Exactly the RBAC the README lists for pod injection: Secrets and namespaces in each listed namespace,
            // the policy and its binding cluster-wide.
            await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${listed}/roles`, {
                metadata: { name: "acr-pull-delivery" },
                rules: POD_INJECTION_NAMESPACE_RULES,
            });
            await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${listed}/rolebindings`, {
                metadata: { name: "acr-pull-delivery" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "acr-pull-delivery" },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DELIVERY_USER }],
            });
            await rig.admin.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
                metadata: { name: "acr-pull-pod-injection" },
                rules: POD_INJECTION_CLUSTER_RULES,
            });
            await rig.admin.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
                metadata: { name: "acr-pull-pod-injection" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "acr-pull-pod-injection" },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DELIVERY_USER }],
            });
            workspace = await pullSecretStack(rig, DELIVERY_USER, { namespaces: [listed], target: "pods" });
        });
        after(() => workspace?.dispose());

        it("up adds our secret to new pods in the listed namespaces, beside their own and their service account's", async () => {
            const serviceAccountBefore = await read(rig.admin, serviceAccountPath(listed, "default"));
            await workspace.up();
            assert.equal((await read(rig.admin, secretPath(listed))).type, "kubernetes.io/dockerconfigjson");
            // The API server loads a new policy from its informer within moments of its creation.
            const started = Date.now();
            while (!(await createPod(listed, undefined, true))?.some((entry) => entry.name === SECRET_NAME)) {
                assert.ok(Date.now() - started < 10_000, "the policy took no effect within 10 s");
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            console.log(`      (the policy took effect ${Date.now() - started} ms after up returned)`);
            assert.deepEqual(await createPod(listed, [{ name: "pod-registry" }]), [{ name: "pod-registry" }, { name: SECRET_NAME }]);
            // A pod without entries gets its service account's first (the ServiceAccount admission plugin), then ours.
            assert.deepEqual(await createPod(listed), [{ name: "sa-registry" }, { name: SECRET_NAME }]);
            // Ours already named by the pod: listed once.
            assert.deepEqual(await createPod(listed, [{ name: SECRET_NAME }]), [{ name: SECRET_NAME }]);
            assert.deepEqual(await createPod(unlisted), [{ name: "sa-registry" }], "a namespace not listed was injected");
            // No service account is written in this mode.
            const serviceAccountAfter = await read(rig.admin, serviceAccountPath(listed, "default"));
            assert.equal(serviceAccountAfter.metadata.resourceVersion, serviceAccountBefore.metadata.resourceVersion);
        });

        it("destroy removes the policy and its binding: new pods are left as they come", async () => {
            await workspace.destroy();
            const started = Date.now();
            while ((await createPod(listed, undefined, true))?.some((entry) => entry.name === SECRET_NAME)) {
                assert.ok(Date.now() - started < 10_000, "the policy still acts 10 s after destroy");
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            assert.deepEqual(await createPod(listed, [{ name: "pod-registry" }]), [{ name: "pod-registry" }]);
            const policies = await rig.admin.get("/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies");
            assert.deepEqual((policies.body as { items: unknown[] }).items, []);
            const bindings = await rig.admin.get("/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings");
            assert.deepEqual((bindings.body as { items: unknown[] }).items, []);
        });
    });
});

describe("pod injection on a cluster without mutating admission policies", function () {
    this.timeout(600_000);
    let rig: Rig;
    let workspace: PulumiWorkspace;

    before(async function () {
        this.timeout(0);
        // What a cluster before Kubernetes 1.36 serves: no admissionregistration.k8s.io/v1 mutating admission policies.
        rig = await startRig({
            apiServerArgs: [
                "--runtime-config=admissionregistration.k8s.io/v1/mutatingadmissionpolicies=false,admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings=false",
                // Its admission plugin would wait forever for the policies it can no longer list.
                "--disable-admission-plugins=MutatingAdmissionPolicy",
            ],
        });
        await createNamespace(rig.admin, "apps");
        workspace = await pullSecretStack(rig, "admin", { namespaces: ["apps"], target: "pods" });
    });
    after(async () => {
        workspace?.dispose();
        await rig?.stop();
    });

    it("fails the preview and up --skip-preview naming the Kubernetes version it needs; nothing is created", async () => {
        const preview = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
        assert.match(
            preview.output,
            /The cluster \(Kubernetes v1\.\d+\.\d+\) does not serve mutatingadmissionpolicies in admissionregistration\.k8s\.io\/v1/,
            preview.output,
        );
        assert.match(preview.output, /It needs Kubernetes 1\.36 or later/);
        const up = await workspace.expectFailure(["up", "--stack", workspace.stack, "--non-interactive", "--yes", "--skip-preview"]);
        assert.match(up.output, /It needs Kubernetes 1\.36 or later/, up.output);
        assert.equal((await rig.admin.get(`/api/v1/namespaces/apps/secrets/${SECRET_NAME}`)).status, 404, "up created a Secret");
    });
});
