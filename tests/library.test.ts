import * as assert from "node:assert/strict";
import * as library from "../components";

describe("library entry", () => {
    it("exports the component, the binding, the reset seam and the helpers other stacks use", () => {
        for (const name of [
            "CrossTenantAcrPull",
            "ClusterCredentialBinding",
            "resetClusterServicePrincipal",
            "readClusterClientId",
            "ClusterCredentialError",
            "tenantProviders",
            "secretSchedule",
            "secretHealth",
            "parseRegistryId",
            "roleDefinitionId",
            "ValidationError",
            "clusterKubernetesProvider",
            "dockerConfigJson",
            "registryLoginServer",
        ]) {
            assert.equal(typeof (library as Record<string, unknown>)[name], "function", `${name} is not exported`);
        }
        assert.equal(library.ARM_ENDPOINTS.public, "https://management.azure.com");
        assert.equal(library.DEFAULT_PULL_SECRET_NAME, "acr-cross-tenant-pull");
    });
});
