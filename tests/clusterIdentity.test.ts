import * as assert from "node:assert/strict";
import { clusterIdentity } from "../components/reset/clusterIdentity";
import { servicePrincipalDeliveryProblem } from "../components/deliveries/clusterServicePrincipal/declare";

const CLUSTER = { subscriptionId: "aaaaaaaa-1111-4111-8111-11111111111a", resourceGroupName: "rg-aks", clusterName: "aks-prod" };

describe("clusterIdentity", () => {
    it("tells service-principal clusters from managed-identity ones by the profile's client id and the identity", () => {
        const sp = "11111111-0000-4000-8000-000000000001";
        assert.deepEqual(clusterIdentity({ servicePrincipalClientId: sp }), { kind: "servicePrincipal", clientId: sp });
        assert.deepEqual(clusterIdentity({ servicePrincipalClientId: sp, identityType: "None" }), {
            kind: "servicePrincipal",
            clientId: sp,
        });
        assert.deepEqual(clusterIdentity({ servicePrincipalClientId: "MSI" }), {
            kind: "managedIdentity",
            detail: 'servicePrincipalProfile.clientId is "msi"',
        });
        assert.deepEqual(clusterIdentity({ servicePrincipalClientId: "msi", identityType: "UserAssigned" }), {
            kind: "managedIdentity",
            detail: 'servicePrincipalProfile.clientId is "msi", identity type UserAssigned',
        });
        // An identity wins over a client id: ARM reports the old profile of a cluster migrated to a managed identity.
        assert.deepEqual(clusterIdentity({ servicePrincipalClientId: sp, identityType: "SystemAssigned" }), {
            kind: "managedIdentity",
            detail: "identity type SystemAssigned",
        });
        assert.deepEqual(clusterIdentity({ identityType: "set" }), { kind: "managedIdentity", detail: "identity type set" });
        assert.deepEqual(clusterIdentity({}), { kind: "unknown" });
    });

    it("explains why a cluster cannot take the service-principal delivery, and what to use instead", () => {
        assert.equal(
            servicePrincipalDeliveryProblem(CLUSTER, { servicePrincipalClientId: "11111111-0000-4000-8000-000000000001" }),
            undefined,
        );
        const managed = servicePrincipalDeliveryProblem(CLUSTER, { servicePrincipalClientId: "msi", identityType: "SystemAssigned" });
        assert.match(
            String(managed),
            /^AKS cluster "aks-prod" \(resource group "rg-aks", subscription "aaaaaaaa-1111-4111-8111-11111111111a"\) uses a managed identity/,
        );
        assert.match(String(managed), /`credentialDelivery: imagePullSecret`.*Nothing was created\.$/);
        assert.match(
            String(servicePrincipalDeliveryProblem(CLUSTER, {})),
            /reports neither a service principal client id nor a managed identity/,
        );
    });
});
