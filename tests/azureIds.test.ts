import * as assert from "node:assert/strict";
import {
    adminConsentUrl,
    isClusterName,
    isGuid,
    isRegistryName,
    isResourceGroupName,
    parseRegistryId,
    REGISTRY_ROLES,
    roleDefinitionId,
} from "../components/azureIds";
import { SUB_B1, TENANT_B, registryId } from "./mocks";

describe("azureIds", () => {
    describe("parseRegistryId", () => {
        it("splits a registry id into subscription, resource group and name", () => {
            assert.deepEqual(parseRegistryId(registryId(SUB_B1, "rg-images", "contosoimages")), {
                id: registryId(SUB_B1, "rg-images", "contosoimages"),
                subscriptionId: SUB_B1,
                resourceGroupName: "rg-images",
                registryName: "contosoimages",
            });
        });

        it("accepts segment names in any case, as ARM does, and keeps the id as given", () => {
            const id = `/SUBSCRIPTIONS/${SUB_B1}/resourcegroups/rg/PROVIDERS/microsoft.containerregistry/REGISTRIES/contoso1`;
            const parsed = parseRegistryId(id);
            assert.ok(!("problem" in parsed));
            assert.equal(parsed.id, id);
            assert.equal(parsed.registryName, "contoso1");
        });

        for (const [label, id, problem] of [
            [
                "a storage account id",
                `/subscriptions/${SUB_B1}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/contoso1`,
                /not a container registry resource id/,
            ],
            ["a trailing slash", `${registryId(SUB_B1, "rg", "contoso1")}/`, /not a container registry resource id/],
            ["a missing leading slash", registryId(SUB_B1, "rg", "contoso1").slice(1), /not a container registry resource id/],
            [
                "a subscription that is not a GUID",
                registryId("prod-subscription", "rg", "contoso1"),
                /subscription "prod-subscription" is not a GUID/,
            ],
            [
                "a registry name with a hyphen",
                registryId(SUB_B1, "rg", "contoso-images"),
                /registry name "contoso-images" must be 5-50 letters and digits/,
            ],
            ["a registry name shorter than 5", registryId(SUB_B1, "rg", "abcd"), /registry name "abcd"/],
            ["a resource group ending in a period", registryId(SUB_B1, "rg.", "contoso1"), /resource group "rg\." breaks/],
        ] as const) {
            it(`rejects ${label}`, () => {
                const parsed = parseRegistryId(id);
                assert.ok("problem" in parsed, `expected a problem for ${id}`);
                assert.match(parsed.problem, problem);
            });
        }
    });

    it("checks GUIDs case-insensitively and strictly", () => {
        assert.ok(isGuid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
        assert.ok(!isGuid("72f988bf86f141af91ab2d7cd011db47"));
        assert.ok(!isGuid("{72f988bf-86f1-41af-91ab-2d7cd011db47}"));
        assert.ok(!isGuid(""));
    });

    it("applies Azure naming rules for resource groups, clusters and registries", () => {
        assert.ok(isResourceGroupName("rg_(aks).prod-1"));
        assert.ok(!isResourceGroupName("rg with space"));
        assert.ok(!isResourceGroupName("a".repeat(91)));
        assert.ok(isClusterName("aks_prod-1"));
        assert.ok(isClusterName("a"));
        assert.ok(!isClusterName("-aks"));
        assert.ok(!isClusterName("aks-"));
        assert.ok(!isClusterName("a".repeat(64)));
        assert.ok(isRegistryName("contoso1"));
        assert.ok(!isRegistryName("a".repeat(51)));
    });

    it("builds role definition ids through the scope's subscription", () => {
        assert.equal(
            roleDefinitionId(SUB_B1, REGISTRY_ROLES.AcrPull),
            `/subscriptions/${SUB_B1}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d`,
        );
        assert.equal(REGISTRY_ROLES.ContainerRegistryRepositoryReader, "b93aa761-3e63-49ed-ac28-beffa264f7ac");
    });

    it("builds the admin-consent link of the manual procedure for each cloud", () => {
        const clientId = "0f0f0f0f-0000-4000-8000-000000000000";
        const url = new URL(adminConsentUrl("public", TENANT_B, clientId));
        assert.equal(url.origin, "https://login.microsoftonline.com");
        assert.equal(url.pathname, `/${TENANT_B}/oauth2/authorize`);
        assert.equal(url.searchParams.get("client_id"), clientId);
        assert.equal(url.searchParams.get("response_type"), "code");
        assert.equal(url.searchParams.get("redirect_uri"), "https://www.microsoft.com/");
        assert.equal(new URL(adminConsentUrl("usgovernment", TENANT_B, clientId)).origin, "https://login.microsoftonline.us");
        assert.equal(new URL(adminConsentUrl("china", TENANT_B, clientId)).origin, "https://login.chinacloudapi.cn");
    });
});
