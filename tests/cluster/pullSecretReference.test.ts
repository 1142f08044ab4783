/**
 * Our one entry in a service account's atomic `imagePullSecrets` list, on a real API server: each list compared
 * whole before and after, others' entries included, with other writers (plain updates, server-side apply, a
 * concurrent loop of guarded patches) and with least-privilege users.
 */
import * as assert from "node:assert/strict";
import type { CoreV1Api } from "@kubernetes/client-node";
import {
    PullSecretReferenceError,
    addReference,
    coreV1Api,
    removeReference,
    type ReferenceTarget,
} from "../../components/pullSecretTarget/pullSecretReferenceRuntime";
import { DELIVERY_USER, NOBODY_USER, type Rig, startRig } from "./rig";

const OURS = "acr-cross-tenant-pull";
const NAMESPACE = "shared";

interface ServiceAccount {
    metadata: { resourceVersion: string; managedFields?: unknown[] } & Record<string, unknown>;
    imagePullSecrets?: { name: string }[];
}

describe("one entry in a shared imagePullSecrets list, on a real API server", function () {
    this.timeout(120_000);
    let rig: Rig;
    let api: CoreV1Api;
    let counter = 0;

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: NAMESPACE } });
        api = coreV1Api(rig.kubeconfig());
    });
    after(async () => {
        await rig?.stop();
    });

    function path(name: string): string {
        return `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${name}`;
    }

    /** A fresh service account, with `imagePullSecrets` as given (absent when undefined). */
    async function serviceAccount(imagePullSecrets?: { name: string }[]): Promise<ReferenceTarget> {
        const name = `sa-${++counter}`;
        await rig.admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
            metadata: { name, labels: { owner: "platform" } },
            ...(imagePullSecrets === undefined ? {} : { imagePullSecrets }),
        });
        return { namespace: NAMESPACE, serviceAccount: name, secretName: OURS };
    }

    async function live(target: ReferenceTarget): Promise<ServiceAccount> {
        const response = await rig.admin.get(path(target.serviceAccount));
        assert.equal(response.status, 200);
        return response.body as ServiceAccount;
    }

    /** Another tool's plain update, as `kubectl patch --type=json` sends it. */
    async function otherAppends(target: ReferenceTarget, name: string): Promise<void> {
        const current = await live(target);
        const operations = current.imagePullSecrets
            ? [
                  { op: "test", path: "/imagePullSecrets", value: current.imagePullSecrets },
                  { op: "add", path: "/imagePullSecrets/-", value: { name } },
              ]
            : [
                  { op: "test", path: "/metadata/resourceVersion", value: current.metadata.resourceVersion },
                  { op: "add", path: "/imagePullSecrets", value: [{ name }] },
              ];
        const response = await rig.admin.jsonPatch(path(target.serviceAccount), operations);
        if (response.status !== 200) throw new Error(`the other writer's patch answered ${response.status}`);
    }

    for (const [shape, initial] of [
        ["absent", undefined],
        ["empty", []],
        ["holding others' entries", [{ name: "team-registry" }, { name: "mirror" }]],
    ] as const) {
        it(`a list ${shape}: add keeps every entry and appends ours; remove restores it exactly`, async () => {
            const target = await serviceAccount(initial === undefined ? undefined : [...initial]);
            const before = await live(target);
            assert.deepEqual(await addReference(api, target), { added: true });
            assert.deepEqual((await live(target)).imagePullSecrets, [...(before.imagePullSecrets ?? []), { name: OURS }]);
            await removeReference(api, target);
            const after = await live(target);
            assert.deepEqual(after.imagePullSecrets, before.imagePullSecrets);
            assert.deepEqual(after.metadata.labels, before.metadata.labels);
        });
    }

    it("others' entries added by kubectl patch: after add they and ours; after remove exactly theirs", async () => {
        const target = await serviceAccount();
        await otherAppends(target, "added-by-kubectl");
        await addReference(api, target);
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "added-by-kubectl" }, { name: OURS }]);
        await removeReference(api, target);
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "added-by-kubectl" }]);
    });

    it("ours already listed: adopted, nothing written", async () => {
        const target = await serviceAccount([{ name: "first" }, { name: OURS }]);
        const before = await live(target);
        assert.deepEqual(await addReference(api, target), { added: false });
        assert.equal((await live(target)).metadata.resourceVersion, before.metadata.resourceVersion);
    });

    it("another tool rewrites the list after us, keeping ours: remove takes only ours", async () => {
        const target = await serviceAccount([{ name: "a" }]);
        await addReference(api, target);
        // A merge patch replaces the atomic list: the other tool now owns it (managedFields operation Update).
        const rewritten = await rig.admin.request(
            "PATCH",
            `${path(target.serviceAccount)}?fieldManager=kubectl-edit`,
            { imagePullSecrets: [{ name: "z" }, { name: OURS }, { name: "a" }] },
            "application/merge-patch+json",
        );
        assert.equal(rewritten.status, 200);
        await removeReference(api, target);
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "z" }, { name: "a" }]);
    });

    it("an entry or a service account already gone counts as removed", async () => {
        const target = await serviceAccount([{ name: "keep" }]);
        await removeReference(api, target);
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "keep" }]);
        await removeReference(api, { ...target, serviceAccount: "never-existed" });
    });

    it("a list owned by server-side apply is refused, naming the field manager and the ways out, and left alone", async () => {
        const target = await serviceAccount();
        const applied = await rig.admin.apply(
            path(target.serviceAccount),
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: target.serviceAccount }, imagePullSecrets: [{ name: "gitops" }] },
            "argocd-controller",
        );
        assert.equal(applied.status, 200, JSON.stringify(applied.body));
        const before = await live(target);
        await assert.rejects(addReference(api, target), (error: Error) => {
            assert.ok(error instanceof PullSecretReferenceError);
            assert.equal(error.code, "ApplyOwned");
            assert.match(error.message, new RegExp(`Service account ${NAMESPACE}/${target.serviceAccount}`));
            assert.match(error.message, /field manager "argocd-controller"/);
            assert.match(error.message, /add \{name: "acr-cross-tenant-pull"\} to the imagePullSecrets/);
            assert.match(error.message, /pullSecretTarget: pods/);
            return true;
        });
        assert.equal((await live(target)).metadata.resourceVersion, before.metadata.resourceVersion);
    });

    it("a list owned by server-side apply that already names ours (the way out the refusal gives) is adopted, not refused", async () => {
        const target = await serviceAccount();
        const applied = await rig.admin.apply(
            path(target.serviceAccount),
            {
                apiVersion: "v1",
                kind: "ServiceAccount",
                metadata: { name: target.serviceAccount },
                imagePullSecrets: [{ name: "gitops" }, { name: OURS }],
            },
            "argocd-controller",
        );
        assert.equal(applied.status, 200, JSON.stringify(applied.body));
        const before = await live(target);
        assert.deepEqual(await addReference(api, target), { added: false });
        assert.equal((await live(target)).metadata.resourceVersion, before.metadata.resourceVersion);
    });

    /** Who owns the list now: every field manager whose managedFields hold f:imagePullSecrets, with its operation. */
    function listOwners(account: ServiceAccount): string[] {
        return ((account.metadata.managedFields ?? []) as { manager: string; operation: string; fieldsV1?: object }[])
            .filter((entry) => entry.fieldsV1 !== undefined && "f:imagePullSecrets" in entry.fieldsV1)
            .map((entry) => `${entry.manager}:${entry.operation}`);
    }

    it("a list an earlier version's ServiceAccountPatch applied is taken over, so dropping that patch removes nothing", async () => {
        const target = await serviceAccount();
        const former = "pulumi-kubernetes-0a1b2c3d";
        const patch = {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: target.serviceAccount },
            imagePullSecrets: [{ name: OURS }],
        };
        assert.equal((await rig.admin.apply(path(target.serviceAccount), patch, former)).status, 200);
        assert.deepEqual(listOwners(await live(target)), [`${former}:Apply`]);
        // Ours, and so removed again on delete: the earlier version added it.
        assert.deepEqual(await addReference(api, target), { added: true });
        const after = await live(target);
        assert.deepEqual(after.imagePullSecrets, [{ name: OURS }]);
        assert.deepEqual(listOwners(after), ["aks-acr-cross-tenant:Update"]);
        // What the Kubernetes provider sends when the old patch leaves the program: the same manager applies nothing.
        const relinquished = await rig.admin.apply(
            path(target.serviceAccount),
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: target.serviceAccount } },
            former,
        );
        assert.equal(relinquished.status, 200, JSON.stringify(relinquished.body));
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: OURS }], "relinquishing the old patch removed our entry");
        await removeReference(api, target);
        assert.equal((await live(target)).imagePullSecrets, undefined);
    });

    it("a take-over interrupted between its two writes is finished, and the entry counts as ours", async () => {
        const target = await serviceAccount([{ name: OURS }]);
        // Our first write, alone: a second copy of our entry, appended by our field manager.
        const current = await live(target);
        const response = await rig.admin.jsonPatch(
            path(target.serviceAccount),
            [
                { op: "test", path: "/imagePullSecrets", value: current.imagePullSecrets },
                { op: "add", path: "/imagePullSecrets/-", value: { name: OURS } },
            ],
            "aks-acr-cross-tenant",
        );
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.deepEqual(await addReference(api, target), { added: true });
        assert.deepEqual((await live(target)).imagePullSecrets, [{ name: OURS }]);
    });

    it("a missing service account is named", async () => {
        await assert.rejects(addReference(api, { namespace: NAMESPACE, serviceAccount: "missing", secretName: OURS }), (error: Error) => {
            assert.ok(error instanceof PullSecretReferenceError);
            assert.equal(error.code, "ServiceAccountNotFound");
            assert.match(error.message, /service account shared\/missing does not exist/);
            return true;
        });
    });

    it("a dry run is checked by the server and stores nothing", async () => {
        const target = await serviceAccount([{ name: "x" }]);
        const before = await live(target);
        assert.deepEqual(await addReference(api, target, { dryRun: true }), { added: true });
        const after = await live(target);
        assert.deepEqual(after.imagePullSecrets, [{ name: "x" }]);
        assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    });

    it("a concurrent writer appending its own entries loses none, and neither do we", async () => {
        const target = await serviceAccount();
        const theirs = Array.from({ length: 12 }, (_, i) => `concurrent-${i}`);
        const writer = (async () => {
            for (const name of theirs) {
                // Their own guarded appends, retried the same way when ours got in between.
                for (let attempt = 0; ; attempt++) {
                    try {
                        await otherAppends(target, name);
                        break;
                    } catch (error) {
                        if (attempt > 20) throw error;
                    }
                }
            }
        })();
        const ours = (async () => {
            await new Promise((resolve) => setTimeout(resolve, 15));
            await addReference(api, target);
        })();
        await Promise.all([writer, ours]);
        const names = ((await live(target)).imagePullSecrets ?? []).map((entry) => entry.name);
        assert.deepEqual(
            names.filter((name) => name !== OURS),
            theirs,
        );
        assert.equal(names.filter((name) => name === OURS).length, 1, `ours appears ${names.filter((name) => name === OURS).length} times`);
        await removeReference(api, target);
        assert.deepEqual(
            ((await live(target)).imagePullSecrets ?? []).map((entry) => entry.name),
            theirs,
        );
    });

    describe("RBAC", () => {
        before(async () => {
            for (const [user, verbs] of [
                [DELIVERY_USER, ["get", "patch"]],
                [NOBODY_USER, ["get"]],
            ] as const) {
                const name = `sa-${user}`;
                await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/roles`, {
                    metadata: { name },
                    rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs }],
                });
                await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NAMESPACE}/rolebindings`, {
                    metadata: { name },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
                    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
                });
            }
        });

        it("get and patch on service accounts are enough to add and remove", async () => {
            const target = await serviceAccount([{ name: "theirs" }]);
            const delivery = coreV1Api(rig.kubeconfig(DELIVERY_USER));
            await addReference(delivery, target);
            assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "theirs" }, { name: OURS }]);
            await removeReference(delivery, target);
            assert.deepEqual((await live(target)).imagePullSecrets, [{ name: "theirs" }]);
        });

        it("without patch the add fails, naming the permission and the service account", async () => {
            const target = await serviceAccount();
            await assert.rejects(addReference(coreV1Api(rig.kubeconfig(NOBODY_USER)), target), (error: Error) => {
                assert.ok(error instanceof PullSecretReferenceError);
                assert.equal(error.code, "Forbidden");
                assert.match(error.message, new RegExp(`service account ${NAMESPACE}/${target.serviceAccount}`));
                assert.match(error.message, /cannot patch resource "serviceaccounts"/);
                return true;
            });
            assert.equal((await live(target)).imagePullSecrets, undefined);
        });
    });
});
