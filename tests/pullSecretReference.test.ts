/**
 * The plans for our one entry in a service account's atomic imagePullSecrets list: every write guarded, nobody
 * else's entry rewritten, server-side-apply owners found. tests/cluster/pullSecretReference.test.ts sends them to a
 * real API server.
 */
import * as assert from "node:assert/strict";
import { applyOwnedMessage, applyOwners, isListed, planAdd, planRemove } from "../components/delivery/pullSecretReference";

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
});
