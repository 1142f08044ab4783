import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { CrossTenantAcrPull as CrossTenantAcrPullType, CrossTenantAcrPullArgs } from "../components/crossTenantAcrPull";
import { ValidationError } from "../components/validation";
import {
    RecordingMocks,
    SUB_A,
    SUB_B1,
    SUB_B2,
    TENANT_A,
    TENANT_B,
    fakeSecretFor,
    installMocks,
    promiseOf,
    registryId,
    settle,
} from "./mocks";

// Loaded after the mocks are installed, as Pulumi's testing guide requires.
let components: typeof import("../components");
let mocks: RecordingMocks;

const REGISTRY_1 = registryId(SUB_B1, "rg-images", "contosoimages");
const REGISTRY_2 = registryId(SUB_B2, "rg-shared", "ContosoShared");
const NOW = new Date("2026-11-28T10:00:00Z");

function build(overrides: Partial<CrossTenantAcrPullArgs> = {}): CrossTenantAcrPullType {
    const clusterTenant = components.tenantProviders("a", { tenantId: TENANT_A, subscriptionId: SUB_A, environment: "public" });
    const registryTenant = components.tenantProviders("b", { tenantId: TENANT_B, subscriptionId: SUB_B1, environment: "public" });
    return new components.CrossTenantAcrPull(
        "pull",
        {
            clusterTenantId: TENANT_A,
            registryTenantId: TENANT_B,
            registryIds: [REGISTRY_1, REGISTRY_2],
            applicationName: "aks-prod-acr-pull",
            registryTenantProviders: registryTenant,
            clock: () => NOW,
            ...overrides,
        },
        { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
    );
}

/** Waits for every output so every child has reached the mocks. */
async function resolved(component: CrossTenantAcrPullType): Promise<void> {
    await promiseOf(pulumi.all([component.roleAssignmentIds, component.servicePrincipalProfile, component.adminConsentUrl]));
    await settle();
}

describe("CrossTenantAcrPull", () => {
    beforeEach(async () => {
        mocks = await installMocks();
        components = await import("../components");
    });

    it("declares the application, its secret and principals, and one pull role per registry, each in the right tenant", async () => {
        const component = build();
        await resolved(component);

        const declared = mocks.resources.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(declared.sort(), [
            "aks-acr-cross-tenant:index:CrossTenantAcrPull pull",
            "azure-native:authorization:RoleAssignment pull-contosoimages-pull",
            "azure-native:authorization:RoleAssignment pull-contososhared-pull",
            "azuread:index/application:Application pull-app",
            "azuread:index/applicationPassword:ApplicationPassword pull-secret",
            "azuread:index/servicePrincipal:ServicePrincipal pull-cluster-sp",
            "azuread:index/servicePrincipal:ServicePrincipal pull-registry-sp",
        ]);

        const app = mocks.named("pull-app");
        assert.equal(app.inputs.signInAudience, "AzureADMultipleOrgs");
        assert.equal(app.inputs.displayName, "aks-prod-acr-pull");
        assert.equal(mocks.tenantOf(app), TENANT_A);
        assert.equal(mocks.providerOf(app)?.type, "pulumi:providers:azuread");

        const clientId = await promiseOf(component.applicationClientId);
        const clusterSp = mocks.named("pull-cluster-sp");
        assert.equal(clusterSp.inputs.clientId, clientId);
        assert.equal(mocks.tenantOf(clusterSp), TENANT_A);

        const registrySp = mocks.named("pull-registry-sp");
        assert.equal(registrySp.inputs.clientId, clientId);
        assert.equal(mocks.tenantOf(registrySp), TENANT_B);
        assert.equal(registrySp.inputs.useExisting, undefined, "useExisting would delete a pre-existing principal on destroy");

        const password = mocks.named("pull-secret");
        assert.equal(password.inputs.applicationId, app.id);
        assert.equal(mocks.tenantOf(password), TENANT_A);
        assert.equal(password.inputs.endDate, await promiseOf(component.secretExpiresAt));
        const lifetimeMs = Date.parse(String(password.inputs.endDate)) - NOW.getTime();
        assert.ok(lifetimeMs > 0 && lifetimeMs <= 180 * 86_400_000, `end date ${String(password.inputs.endDate)} is not within 180 days`);

        const registryPrincipalId = await promiseOf(component.registryTenantServicePrincipalObjectId);
        const assignments = mocks.ofType("azure-native:authorization:RoleAssignment");
        assert.deepEqual(
            assignments.map((a) => [a.inputs.scope, a.inputs.roleDefinitionId, a.inputs.principalId, a.inputs.principalType, mocks.tenantOf(a)]),
            [
                [REGISTRY_1, `/subscriptions/${SUB_B1}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d`, registryPrincipalId, "ServicePrincipal", TENANT_B],
                [REGISTRY_2, `/subscriptions/${SUB_B2}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d`, registryPrincipalId, "ServicePrincipal", TENANT_B],
            ],
        );
        assert.equal(mocks.providerOf(assignments[0])?.type, "pulumi:providers:azure-native");
        assert.deepEqual(await promiseOf(component.roleAssignmentIds), assignments.map((a) => a.id));
    });

    it("grants Container Registry Repository Reader for ABAC-mode registries", async () => {
        const component = build({ registryRole: "ContainerRegistryRepositoryReader", registryIds: [REGISTRY_2] });
        await resolved(component);
        const [assignment] = mocks.ofType("azure-native:authorization:RoleAssignment");
        assert.equal(assignment.inputs.roleDefinitionId, `/subscriptions/${SUB_B2}/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac`);
        assert.equal(mocks.ofType("azure-native:authorization:RoleAssignment").length, 1);
    });

    it("keeps the client secret secret in every output that carries it", async () => {
        const component = build();
        await resolved(component);
        assert.equal(await pulumi.isSecret(component.servicePrincipalProfile), true);
        const profile = await promiseOf(component.servicePrincipalProfile);
        assert.deepEqual(profile, { clientId: await promiseOf(component.applicationClientId), secret: fakeSecretFor("pull-secret") });
        const plainOutputs = [
            component.applicationClientId,
            component.applicationObjectId,
            component.clusterTenantServicePrincipalObjectId,
            component.registryTenantServicePrincipalObjectId,
            component.secretExpiresAt,
            component.secretRenewsAfter,
            component.adminConsentUrl,
        ];
        for (const output of plainOutputs) {
            assert.ok(!JSON.stringify(await promiseOf(output)).includes(fakeSecretFor("pull-secret")));
        }
        assert.equal(await pulumi.isSecret(component.secretExpiresAt), false, "dates are meant to be plain");
    });

    it("declares the same secret inputs an hour and a week later", async () => {
        const first = build({ clock: () => NOW });
        await resolved(first);
        const renewsAfter = Date.parse(await promiseOf(first.secretRenewsAfter));
        const endDates = [String(mocks.named("pull-secret").inputs.endDate)];
        for (const later of [NOW.getTime() + 3_600_000, Math.min(NOW.getTime() + 7 * 86_400_000, renewsAfter - 1)]) {
            mocks = await installMocks();
            await resolved(build({ clock: () => new Date(later) }));
            endDates.push(String(mocks.named("pull-secret").inputs.endDate));
        }
        assert.deepEqual(new Set(endDates).size, 1, endDates.join(" vs "));
    });

    it("builds the tenant-B consent link for the application", async () => {
        const component = build();
        await resolved(component);
        const url = new URL(await promiseOf(component.adminConsentUrl));
        assert.equal(url.pathname, `/${TENANT_B}/oauth2/authorize`);
        assert.equal(url.searchParams.get("client_id"), await promiseOf(component.applicationClientId));
    });

    it("rejects bad arguments with every problem before declaring anything", async () => {
        const before = mocks.resources.length;
        const registryTenant = components.tenantProviders("b", { tenantId: TENANT_B, subscriptionId: SUB_B1, environment: "public" });
        await settle();
        const providersOnly = mocks.resources.length;
        assert.throws(
            () =>
                new components.CrossTenantAcrPull("bad", {
                    clusterTenantId: TENANT_A,
                    registryTenantId: TENANT_A,
                    registryIds: [REGISTRY_1, REGISTRY_1.toUpperCase()],
                    applicationName: " padded ",
                    secretLifetimeDays: 0,
                    registryTenantProviders: registryTenant,
                }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.match(error.message, /^Invalid arguments for CrossTenantAcrPull "bad": 4 problems; nothing was declared\./);
                assert.deepEqual(error.problems.map((p) => p.key), ["registryTenantId", "registryIds[1]", "applicationName", "secretLifetimeDays"]);
                return true;
            },
        );
        await settle();
        assert.equal(mocks.resources.length, providersOnly);
        assert.ok(providersOnly >= before);
    });
});
