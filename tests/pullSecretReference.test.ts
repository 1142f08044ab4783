/**
 * The plans for our one entry in a service account's atomic imagePullSecrets list: every write guarded, nobody
 * else's entry rewritten, server-side-apply owners found. tests/cluster/pullSecretReference.test.ts sends them to a
 * real API server.
 */
import * as assert from "node:assert/strict";
import {
    applyOwnedMessage,
    applyOwners,
    blockingApplyOwners,
    formerPatchOwners,
    interruptedTakeOver,
    isListed,
    planAdd,
    planRemove,
    planTakeOver,
} from "../components/pullSecretTarget/pullSecretReference";
import { podPullSecretBindingSpec, podPullSecretPolicySpec } from "../components/pullSecretTarget/podPullSecretPolicy";

const OURS = "acr-cross-tenant-pull";

describe("pullSecretReference plans", () => {
    it("an absent list is guarded by the resourceVersion and created with ours alone", () => {
        assert.deepEqual(planAdd({ metadata: { resourceVersion: "42" } }, OURS), {
            kind: "patch",
            operations: [
                { op: "test", path: "/metadata/resourceVersion", value: "42" },
                { op: "add", path: "/imagePullSecrets", value: [{ name: OURS }] },
            ],
        });
    });

    it("a present list is tested whole and ours appended, never replaced", () => {
        const list = [{ name: "a" }, { name: "b" }];
        const plan = planAdd({ metadata: { resourceVersion: "7" }, imagePullSecrets: list }, OURS);
        assert.deepEqual(plan, {
            kind: "patch",
            operations: [
                { op: "test", path: "/imagePullSecrets", value: list },
                { op: "add", path: "/imagePullSecrets/-", value: { name: OURS } },
            ],
        });
        assert.ok(
            plan.kind === "patch" && !plan.operations.some((op) => op.op === "add" && op.path === "/imagePullSecrets"),
            "an unguarded add of the whole list would replace it",
        );
    });

    it("ours already listed is adopted", () => {
        assert.deepEqual(planAdd({ imagePullSecrets: [{ name: "a" }, { name: OURS }] }, OURS), { kind: "present" });
        assert.equal(isListed({ imagePullSecrets: [{ name: OURS }] }, OURS), true);
        assert.equal(isListed({ imagePullSecrets: [{ name: "a" }] }, OURS), false);
        assert.equal(isListed(undefined, OURS), false);
    });

    it("removal tests our name at its index, or drops the field when ours is the only entry", () => {
        assert.deepEqual(planRemove({ imagePullSecrets: [{ name: "a" }, { name: OURS }, { name: "b" }] }, OURS), {
            kind: "patch",
            operations: [
                { op: "test", path: "/imagePullSecrets/1/name", value: OURS },
                { op: "remove", path: "/imagePullSecrets/1" },
            ],
        });
        assert.deepEqual(planRemove({ imagePullSecrets: [{ name: OURS }] }, OURS), {
            kind: "patch",
            operations: [
                { op: "test", path: "/imagePullSecrets", value: [{ name: OURS }] },
                { op: "remove", path: "/imagePullSecrets" },
            ],
        });
        assert.deepEqual(planRemove({ imagePullSecrets: [{ name: "a" }] }, OURS), { kind: "absent" });
        assert.deepEqual(planRemove({}, OURS), { kind: "absent" });
    });

    it("finds the server-side-apply owners of the list, not plain updaters or appliers of other fields", () => {
        const managedFields = [
            { manager: "kubectl-patch", operation: "Update", fieldsV1: { "f:imagePullSecrets": {} } },
            { manager: "argocd-controller", operation: "Apply", fieldsV1: { "f:imagePullSecrets": {} } },
            { manager: "helm", operation: "Apply", fieldsV1: { "f:metadata": { "f:labels": {} } } },
            { manager: "pulumi-kubernetes-abc", operation: "Apply", fieldsV1: { "f:imagePullSecrets": {} } },
        ];
        assert.deepEqual(applyOwners({ metadata: { managedFields } }), ["argocd-controller", "pulumi-kubernetes-abc"]);
        assert.deepEqual(
            applyOwners({ metadata: { managedFields } }, (manager) => manager.startsWith("pulumi-kubernetes-")),
            ["argocd-controller"],
        );
        assert.deepEqual(applyOwners({}), []);
    });

    it("the refusal names the service account, the field manager and both ways out", () => {
        const message = applyOwnedMessage("apps", "default", OURS, ["argocd-controller"]);
        assert.match(
            message,
            /^Service account apps\/default: its imagePullSecrets list is owned by server-side apply \(field manager "argocd-controller"\)\./,
        );
        assert.match(message, /Nothing was created\./);
        assert.match(message, /add \{name: "acr-cross-tenant-pull"\}/);
        assert.match(message, /pullSecretTarget: pods/);
    });

    describe("an earlier version's ServiceAccountPatch", () => {
        const former = { manager: "pulumi-kubernetes-0a1b2c3d", operation: "Apply", fieldsV1: { "f:imagePullSecrets": {} } };
        const other = { manager: "argocd-controller", operation: "Apply", fieldsV1: { "f:imagePullSecrets": {} } };

        it("is recognised only as the pulumi-kubernetes Apply owner of a list holding ours alone", () => {
            const ours = [{ name: OURS }];
            assert.deepEqual(formerPatchOwners({ metadata: { managedFields: [former] }, imagePullSecrets: ours }, OURS), [former.manager]);
            assert.deepEqual(blockingApplyOwners({ metadata: { managedFields: [former] }, imagePullSecrets: ours }, OURS), []);
            // Not ours alone, not that name shape, not an Apply: not the earlier version's patch.
            const mixed = { metadata: { managedFields: [former] }, imagePullSecrets: [{ name: "team" }, { name: OURS }] };
            assert.deepEqual(formerPatchOwners(mixed, OURS), []);
            assert.deepEqual(blockingApplyOwners(mixed, OURS), [former.manager]);
            const renamed = { ...former, manager: "pulumi-kubernetes" };
            assert.deepEqual(formerPatchOwners({ metadata: { managedFields: [renamed] }, imagePullSecrets: ours }, OURS), []);
            assert.deepEqual(
                formerPatchOwners({ metadata: { managedFields: [{ ...former, operation: "Update" }] }, imagePullSecrets: ours }, OURS),
                [],
            );
            // Another tool applying the same list still blocks.
            assert.deepEqual(blockingApplyOwners({ metadata: { managedFields: [former, other] }, imagePullSecrets: ours }, OURS), [
                other.manager,
            ]);
        });

        it("is taken over by appending a second copy of ours and then removing it, each write guarded", () => {
            assert.deepEqual(planTakeOver({ imagePullSecrets: [{ name: OURS }] }, OURS), [
                [
                    { op: "test", path: "/imagePullSecrets", value: [{ name: OURS }] },
                    { op: "add", path: "/imagePullSecrets/-", value: { name: OURS } },
                ],
                [
                    { op: "test", path: "/imagePullSecrets", value: [{ name: OURS }, { name: OURS }] },
                    { op: "remove", path: "/imagePullSecrets/1" },
                ],
            ]);
        });

        it("an interrupted take-over is finished only where our field manager wrote the copy", () => {
            const doubled = [{ name: OURS }, { name: OURS }];
            const ourWrite = { manager: "aks-acr-cross-tenant", operation: "Update", fieldsV1: { "f:imagePullSecrets": {} } };
            assert.deepEqual(interruptedTakeOver({ metadata: { managedFields: [ourWrite] }, imagePullSecrets: doubled }, OURS), [
                { op: "test", path: "/imagePullSecrets", value: doubled },
                { op: "remove", path: "/imagePullSecrets/1" },
            ]);
            assert.equal(
                interruptedTakeOver(
                    { metadata: { managedFields: [{ ...ourWrite, manager: "kubectl-edit" }] }, imagePullSecrets: doubled },
                    OURS,
                ),
                undefined,
            );
            assert.equal(
                interruptedTakeOver({ metadata: { managedFields: [ourWrite] }, imagePullSecrets: [{ name: OURS }] }, OURS),
                undefined,
            );
        });
    });

    describe("pod injection", () => {
        it("appends ours with a JSON patch, only to pods that lack it, failing closed", () => {
            const spec = podPullSecretPolicySpec("contoso-pull") as {
                failurePolicy: string;
                matchConstraints: unknown;
                matchConditions: { expression: string }[];
                mutations: { patchType: string; jsonPatch: { expression: string } }[];
            };
            assert.equal(spec.failurePolicy, "Fail");
            assert.deepEqual(spec.matchConstraints, {
                resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
            });
            assert.match(spec.matchConditions[0].expression, /!object\.spec\.imagePullSecrets\.exists\(s, s\.name == "contoso-pull"\)/);
            assert.equal(spec.mutations[0].patchType, "JSONPatch");
            assert.match(
                spec.mutations[0].jsonPatch.expression,
                /path: "\/spec\/imagePullSecrets\/-", value: Object\.spec\.imagePullSecrets\{name: "contoso-pull"\}/,
            );
        });

        it("binds the policy to exactly the listed namespaces", () => {
            assert.deepEqual(podPullSecretBindingSpec("policy-1", ["apps", "jobs"]), {
                policyName: "policy-1",
                matchResources: {
                    namespaceSelector: {
                        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["apps", "jobs"] }],
                    },
                },
            });
        });
    });
});
