/**
 * The federated delivery's cluster side under the real engine, on a real API server, as the least-privilege user
 * holding exactly the RBAC the README lists for it. External Secrets Operator does not run on the rig (no images can
 * be pulled here): its two resources are installed as CRDs of the same names, versions and scope, without ESO's
 * schemas, and the test plays ESO's controller, writing the Secret (owned by the ExternalSecret, as ESO's
 * `creationPolicy: Owner` does) and setting the ExternalSecret Ready. What ESO does with the objects is checked on
 * paper against its source (components/deliveries/federatedPullSecret/externalSecrets.ts); what is proven here is what this product
 * writes, in what order, that `up` waits for the Secret, and that `destroy` leaves every service account as it was.
 */
import * as assert from "node:assert/strict";
import { DELIVERY_USER, type Api, type Rig, startRig } from "./rig";
import { PulumiWorkspace } from "./pulumi";
import { installStandInCrds, playEso } from "./esoStandIn";

const CLIENT_ID = "cccccccc-4444-4444-8444-4444444444c1";
const TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
const ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/";
const REGISTRIES = [
    { registryName: "teamregistry", loginServer: "teamregistry.azurecr.io" },
    { registryName: "sharedregistry", loginServer: "sharedregistry.azurecr.io" },
];
const SECRET_NAME = "acr-cross-tenant-pull";
const NAMESPACES = ["fed-apps", "fed-jobs"];

/** The RBAC the README lists for federatedPullSecret with service-account references, bound per namespace. */
const FEDERATED_RULES = [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
    { apiGroups: ["external-secrets.io"], resources: ["externalsecrets"], verbs: ["get", "list", "watch", "create", "patch", "delete"] },
    {
        apiGroups: ["generators.external-secrets.io"],
        resources: ["acraccesstokens"],
        verbs: ["get", "list", "watch", "create", "patch", "delete"],
    },
];

async function body(api: Api, path: string): Promise<Record<string, unknown> & { metadata: Record<string, unknown> }> {
    const response = await api.get(path);
    assert.equal(response.status, 200, `GET ${path} answered ${response.status}`);
    return response.body as Record<string, unknown> & { metadata: Record<string, unknown> };
}

describe("federated pull secret delivery on a real API server, under the Pulumi engine", function () {
    this.timeout(600_000);
    let rig: Rig;
    let workspace: PulumiWorkspace;
    const original = new Map<string, unknown>();

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        for (const namespace of NAMESPACES) {
            await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
            await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
                metadata: { name: "acr-pull-delivery" },
                rules: FEDERATED_RULES,
            });
            await rig.admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
                metadata: { name: "acr-pull-delivery" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "acr-pull-delivery" },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DELIVERY_USER }],
            });
            const path = `/api/v1/namespaces/${namespace}/serviceaccounts/default`;
            for (let tries = 0; (await rig.admin.get(path)).status !== 200; tries++) {
                assert.ok(tries < 100, `${path} never appeared`);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            const { resourceVersion: _rv, managedFields: _mf, ...metadata } = (await body(rig.admin, path)).metadata;
            original.set(path, metadata);
        }
        workspace = await PulumiWorkspace.create(rig.binaries, "federated");
        await workspace.setAllConfig(
            {
                kubeconfig: rig.kubeconfig(DELIVERY_USER),
                namespaces: NAMESPACES,
                clientId: CLIENT_ID,
                registryTenantId: TENANT_B,
                issuer: ISSUER,
                registries: REGISTRIES,
                refreshInterval: "30m",
            },
            ["kubeconfig"],
        );
    });
    after(async () => {
        workspace?.dispose();
        await rig?.stop();
    });

    it("without External Secrets Operator the preview fails naming what to install, and nothing is created", async () => {
        const preview = await workspace.expectFailure(["preview", "--stack", workspace.stack, "--non-interactive"]);
        assert.match(preview.output, /does not serve externalsecrets in external-secrets\.io\/v1 or acraccesstokens/, preview.output);
        assert.match(preview.output, /Install External Secrets Operator v0\.17\.0 or later/);
        const minters = await rig.admin.get(`/api/v1/namespaces/${NAMESPACES[0]}/serviceaccounts/acr-token-minter`);
        assert.equal(minters.status, 404, "the preview created the minting service account");
    });

    it("up creates the minting service accounts, the generators and the ExternalSecrets, waits for ESO's Secret, then references it", async () => {
        await installStandInCrds(rig.admin);
        // Play ESO's controller: for each ExternalSecret, write its Secret (owned by it) and mark it Ready.
        const eso = playEso(rig.admin, NAMESPACES, SECRET_NAME);
        let up;
        try {
            up = await workspace.up();
        } finally {
            await eso.stop();
        }
        assert.equal(eso.readyAt.size, NAMESPACES.length, "the ExternalSecrets were not all created");

        for (const namespace of NAMESPACES) {
            const minter = await body(rig.admin, `/api/v1/namespaces/${namespace}/serviceaccounts/acr-token-minter`);
            assert.deepEqual((minter.metadata.annotations as Record<string, string>)["azure.workload.identity/client-id"], CLIENT_ID);
            assert.deepEqual((minter.metadata.annotations as Record<string, string>)["azure.workload.identity/tenant-id"], TENANT_B);
            assert.equal(minter.automountServiceAccountToken, false);
            for (const registry of REGISTRIES) {
                const generator = await body(
                    rig.admin,
                    `/apis/generators.external-secrets.io/v1alpha1/namespaces/${namespace}/acraccesstokens/acr-${registry.registryName}`,
                );
                assert.deepEqual(generator.spec, {
                    tenantId: TENANT_B,
                    registry: registry.loginServer,
                    environmentType: "PublicCloud",
                    auth: { workloadIdentity: { serviceAccountRef: { name: "acr-token-minter" } } },
                });
            }
            const externalSecret = await body(
                rig.admin,
                `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${SECRET_NAME}`,
            );
            const spec = externalSecret.spec as { refreshInterval: string; target: { name: string }; dataFrom: unknown[] };
            assert.deepEqual([spec.refreshInterval, spec.target.name, spec.dataFrom.length], ["30m0s", SECRET_NAME, 2]);
            const account = await body(rig.admin, `/api/v1/namespaces/${namespace}/serviceaccounts/default`);
            assert.deepEqual(account.imagePullSecrets, [{ name: SECRET_NAME }]);
            // The reference was written only once ESO's Secret was there: up waited for the ExternalSecret's Ready.
            assert.equal(eso.listedBeforeReady.get(namespace), false, `${namespace}: the reference was there before ESO's Secret`);
        }
        assert.deepEqual(
            (await workspace.outputs()).refs,
            NAMESPACES.map((namespace) => `${namespace}/${SECRET_NAME}`),
        );
        assert.ok(!up.output.includes("KUBE"), "up printed the kubeconfig");
    });

    it("destroy removes everything it created, ESO's Secret with its ExternalSecret, and restores every service account", async () => {
        await workspace.destroy();
        for (const namespace of NAMESPACES) {
            assert.equal((await rig.admin.get(`/api/v1/namespaces/${namespace}/serviceaccounts/acr-token-minter`)).status, 404);
            assert.equal(
                (await rig.admin.get(`/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${SECRET_NAME}`)).status,
                404,
            );
            const path = `/api/v1/namespaces/${namespace}/serviceaccounts/default`;
            const { resourceVersion: _rv, managedFields: _mf, ...metadata } = (await body(rig.admin, path)).metadata;
            assert.deepEqual(metadata, original.get(path));
            assert.equal((await body(rig.admin, path)).imagePullSecrets, undefined);
            // The garbage collector deletes the Secret ESO owned once its ExternalSecret is gone.
            const secretPath = `/api/v1/namespaces/${namespace}/secrets/${SECRET_NAME}`;
            for (let tries = 0; (await rig.admin.get(secretPath)).status !== 404; tries++) {
                assert.ok(tries < 100, `${secretPath} outlived its ExternalSecret`);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }
    });
});
