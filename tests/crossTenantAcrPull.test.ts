import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type {
    CrossTenantAcrPull as CrossTenantAcrPullType,
    CrossTenantAcrPullArgs,
    ImagePullSecretDelivery,
} from "../components/crossTenantAcrPull";
import type { DockerConfig } from "../components/deliveries/imagePullSecret/dockerConfig";
import { ValidationError } from "../components/validation";
import { startFakeDiscovery, type FakeDiscovery } from "./fakeDiscovery";
import {
    type Recorded,
    RecordingMocks,
    SUB_A,
    SUB_B1,
    SUB_B2,
    TENANT_A,
    TENANT_B,
    fakeSecretFor,
    installMocks,
    mockCluster,
    isSecretWrapped,
    unwrapSecret,
    promiseOf,
    registryId,
    settle,
    failureOf,
} from "./mocks";

// Loaded after the mocks are installed, as Pulumi's testing guide requires.
let components: typeof import("../components");
let mocks: RecordingMocks;

const REGISTRY_1 = registryId(SUB_B1, "rg-images", "contosoimages");
const REGISTRY_2 = registryId(SUB_B2, "rg-shared", "ContosoShared");
const NOW = new Date("2026-11-28T10:00:00Z");
const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
const REFERENCE_TYPE = "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret";

/** The component "pull" with explicit providers for both tenants; `opts` adds component options. */
function build(overrides: Partial<CrossTenantAcrPullArgs> = {}, opts: pulumi.ComponentResourceOptions = {}): CrossTenantAcrPullType {
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
        { providers: [clusterTenant.azuread, clusterTenant.azureNative], ...opts },
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

    it("declares the application, its secret and principals, and both pull roles on each registry, each in the right tenant", async () => {
        const component = build();
        await resolved(component);

        const declared = mocks.resources.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(declared.sort(), [
            "aks-acr-cross-tenant:index:CrossTenantAcrPull pull",
            "azure-native:authorization:RoleAssignment pull-contosoimages-pull",
            "azure-native:authorization:RoleAssignment pull-contosoimages-repository-reader",
            "azure-native:authorization:RoleAssignment pull-contososhared-pull",
            "azure-native:authorization:RoleAssignment pull-contososhared-repository-reader",
            "azuread:index/application:Application pull-app",
            "azuread:index/application:Application pull-app-deployed",
            "azuread:index/applicationPassword:ApplicationPassword pull-secret",
            "azuread:index/servicePrincipal:ServicePrincipal pull-cluster-sp",
            "azuread:index/servicePrincipal:ServicePrincipal pull-registry-sp",
            "random:index/randomId:RandomId pull-secret-anchor",
        ]);
        assert.ok(mocks.named("pull-app-deployed").read, "the application is also read back, as Entra holds it");

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
        assert.equal(password.inputs.endDate, String(await promiseOf(component.secretExpiresAt)));
        const lifetimeMs = Date.parse(String(password.inputs.endDate)) - NOW.getTime();
        assert.ok(lifetimeMs > 0 && lifetimeMs <= 180 * 86_400_000, `end date ${String(password.inputs.endDate)} is not within 180 days`);

        const registryPrincipalId = await promiseOf(component.registryTenantServicePrincipalObjectId);
        const assignments = mocks.ofType("azure-native:authorization:RoleAssignment");
        const role = (subscription: string, guid: string): string =>
            `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
        assert.deepEqual(
            assignments.map((a) => [
                a.name,
                a.inputs.scope,
                a.inputs.roleDefinitionId,
                a.inputs.principalId,
                a.inputs.principalType,
                mocks.tenantOf(a),
                a.inputs.condition,
                a.inputs.conditionVersion,
            ]),
            [
                [
                    "pull-contosoimages-pull",
                    REGISTRY_1,
                    role(SUB_B1, ACR_PULL),
                    registryPrincipalId,
                    "ServicePrincipal",
                    TENANT_B,
                    undefined,
                    undefined,
                ],
                [
                    "pull-contosoimages-repository-reader",
                    REGISTRY_1,
                    role(SUB_B1, REPOSITORY_READER),
                    registryPrincipalId,
                    "ServicePrincipal",
                    TENANT_B,
                    undefined,
                    undefined,
                ],
                [
                    "pull-contososhared-pull",
                    REGISTRY_2,
                    role(SUB_B2, ACR_PULL),
                    registryPrincipalId,
                    "ServicePrincipal",
                    TENANT_B,
                    undefined,
                    undefined,
                ],
                [
                    "pull-contososhared-repository-reader",
                    REGISTRY_2,
                    role(SUB_B2, REPOSITORY_READER),
                    registryPrincipalId,
                    "ServicePrincipal",
                    TENANT_B,
                    undefined,
                    undefined,
                ],
            ],
        );
        // The AcrPull assignment is exactly what earlier versions declared, so a deployed stack keeps it as it is.
        assert.equal(
            mocks.named("pull-contosoimages-pull").inputs.description,
            "AcrPull for AKS in tenant " + TENANT_A + " (application aks-prod-acr-pull)",
        );
        assert.equal(mocks.providerOf(assignments[0])?.type, "pulumi:providers:azure-native");
        assert.deepEqual(
            await promiseOf(component.roleAssignmentIds),
            assignments.map((a) => a.id),
        );
    });

    it("keeps a deployed stack's AcrPull assignment as it is: the default declares it with the same name and inputs", async () => {
        // registryRole: AcrPull declares exactly what earlier versions declared by default.
        const single = build({ registryRole: "AcrPull" });
        await resolved(single);
        const before = mocks.named("pull-contosoimages-pull").inputs;
        mocks = await installMocks();
        const both = build();
        await resolved(both);
        assert.deepEqual(mocks.named("pull-contosoimages-pull").inputs, before);
        assert.ok(!("condition" in before) && !("conditionVersion" in before));
    });

    it("grants exactly one role when registryRole names it, under the name the one assignment always had", async () => {
        for (const [registryRole, guid] of [
            ["ContainerRegistryRepositoryReader", REPOSITORY_READER],
            ["AcrPull", ACR_PULL],
        ] as const) {
            mocks = await installMocks();
            const component = build({ registryRole, registryIds: [REGISTRY_2] });
            await resolved(component);
            const assignments = mocks.ofType("azure-native:authorization:RoleAssignment");
            assert.deepEqual(
                assignments.map((a) => [a.name, a.inputs.roleDefinitionId]),
                [["pull-contososhared-pull", `/subscriptions/${SUB_B2}/providers/Microsoft.Authorization/roleDefinitions/${guid}`]],
            );
        }
    });

    it("limits a registry to repositories with a conditioned Repository Reader alone, once its ABAC mode is read", async () => {
        mocks.registryModes.set("contosoimages", "AbacRepositoryPermissions");
        const component = build({
            registryRepositories: ["contosoimages/team-a/", "ContosoImages/base/nginx", "contosoimages/base/alpine"],
        });
        await resolved(component);
        const assignments = mocks.ofType("azure-native:authorization:RoleAssignment");
        assert.deepEqual(
            assignments.map((a) => a.name).sort(),
            ["pull-contosoimages-repository-reader", "pull-contososhared-pull", "pull-contososhared-repository-reader"],
            "a limited registry must not get AcrPull, which opens every repository",
        );
        const limited = mocks.named("pull-contosoimages-repository-reader");
        const attribute = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";
        assert.equal(
            limited.inputs.condition,
            "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND " +
                "!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR " +
                `(${attribute} StringEqualsIgnoreCase 'base/alpine' OR ${attribute} StringEqualsIgnoreCase 'base/nginx' OR ` +
                `${attribute} StringStartsWithIgnoreCase 'team-a/'))`,
        );
        assert.equal(limited.inputs.conditionVersion, "2.0");
        assert.equal(mocks.named("pull-contososhared-repository-reader").inputs.condition, undefined);
        // The mode was read through the registry tenant's provider, at the API version that reports it.
        const reads = mocks.calls.filter((call) => call.token === "azure-native:resources:getResource");
        assert.deepEqual(
            reads.map((call) => [call.inputs.resourceName, call.inputs.apiVersion, call.inputs.resourceGroupName]),
            [["contosoimages", "2025-11-01", "rg-images"]],
        );
        assert.ok(
            reads[0].provider.includes("::b-azure-native::"),
            `the mode was read through ${reads[0].provider}, not tenant B's provider`,
        );
    });

    for (const [mode, expected] of [
        [undefined, /Registry contosoimages is in role-assignment mode LegacyRegistryPermissions/],
        ["LegacyRegistryPermissions", /Registry contosoimages is in role-assignment mode LegacyRegistryPermissions/],
        [
            "unreadable",
            /Registry contosoimages has repository limits.*its mode could not be read through the registry tenant's azure-native provider: .*Microsoft\.ContainerRegistry\/registries\/read on the registry/s,
        ],
    ] as const) {
        it(`stops before declaring anything when a limited registry's mode is ${mode ?? "absent (legacy)"}`, async () => {
            if (mode !== undefined) mocks.registryModes.set("contosoimages", mode);
            const errors = await capturedErrors(async () => {
                const component = build({ registryRepositories: ["contosoimages/team-a/"] });
                throw await failureOf(component.applicationClientId);
            });
            assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
            assert.match(errors.logged[0], expected);
            assert.match(errors.logged[0], /Nothing was created\./);
            await assertNothingDeclared();
        });
    }

    it("names every bad repository limit and a role that cannot take them, in one error", () => {
        assert.throws(
            () =>
                build({
                    registryRole: "AcrPull",
                    registryRepositories: [
                        "unknownregistry/app",
                        "contosoimages/Team-A/",
                        "contosoimages",
                        "contosoimages/a//b",
                        "contosoimages/ok",
                        "contosoimages/ok",
                    ],
                }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    [
                        "registryRepositories[0]",
                        "registryRepositories[1]",
                        "registryRepositories[2]",
                        "registryRepositories[3]",
                        "registryRepositories[5]",
                        "registryRole",
                    ],
                );
                assert.match(
                    error.problems[0].expected,
                    /"unknownregistry" is not a registry of registryIds \(contosoimages, contososhared\)/,
                );
                assert.match(error.problems[4].expected, /each once/);
                assert.match(error.problems[5].expected, /AcrPull cannot be limited to repositories/);
                return true;
            },
        );
        assert.throws(
            () => build({ registryRole: "Reader" as "AcrPull" }),
            /registryRole: got "Reader"; expected one of AcrPullAndRepositoryReader/,
        );
    });

    it("keeps the client secret secret in every output that carries it", async () => {
        const component = build();
        await resolved(component);
        assert.equal(await pulumi.isSecret(component.servicePrincipalProfile), true);
        const profile = (await promiseOf(component.servicePrincipalProfile))!;
        assert.equal(profile.clientId, await promiseOf(component.applicationClientId));
        assert.equal(profile.secret, `${fakeSecretFor("pull-secret")}:${String(await promiseOf(component.secretExpiresAt))}`);
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
        const deployed = mocks.snapshot();
        const renewsAfter = Date.parse(String(await promiseOf(first.secretRenewsAfter)));
        const endDates = [String(mocks.named("pull-secret").inputs.endDate)];
        for (const later of [NOW.getTime() + 3_600_000, Math.min(NOW.getTime() + 7 * 86_400_000, renewsAfter - 1)]) {
            mocks = await installMocks("test", false, deployed);
            await resolved(build({ clock: () => new Date(later) }));
            endDates.push(String(mocks.named("pull-secret").inputs.endDate));
        }
        assert.deepEqual(new Set(endDates).size, 1, endDates.join(" vs "));
    });

    it("builds the tenant-B consent link for the application", async () => {
        const component = build();
        await resolved(component);
        const url = new URL(await promiseOf(component.adminConsentUrl));
        // Entra matches the redirect URI exactly: it must be the one the application registers.
        assert.deepEqual((mocks.named("pull-app").inputs.web as { redirectUris: string[] }).redirectUris, [
            url.searchParams.get("redirect_uri"),
        ]);
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
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    ["registryTenantId", "registryIds[1]", "applicationName", "secretLifetimeDays"],
                );
                return true;
            },
        );
        await settle();
        assert.equal(mocks.resources.length, providersOnly);
        assert.ok(providersOnly >= before);
    });
});

describe("CrossTenantAcrPull with an existing cluster to switch", () => {
    const CLUSTER_SUB = "aaaaaaaa-5555-4555-8555-55555555555a";
    const SUBNET = `/subscriptions/${CLUSTER_SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks`;
    const SIGN_IN_SECRET = "deployer-SECRET-value";
    const RESTORE_SECRET = "restore-SECRET-value";
    let captured: Map<string, pulumi.ResourceTransformationArgs>;

    beforeEach(async () => {
        mocks = await installMocks();
        components = await import("../components");
        captured = new Map();
    });

    function buildWithCluster(overrides: Partial<CrossTenantAcrPullArgs> = {}): CrossTenantAcrPullType {
        return build(
            {
                clusterTenantRoles: [{ scope: SUBNET, role: "NetworkContributor" }],
                cluster: {
                    subscriptionId: CLUSTER_SUB,
                    resourceGroupName: "rg-aks",
                    clusterName: "aks-prod",
                    deletePolicy: "restore",
                    restore: { clientId: "cccccccc-0000-4000-8000-00000000000c", secret: pulumi.secret(RESTORE_SECRET) },
                    timeoutMinutes: 90,
                    signIn: { clientId: "dddddddd-0000-4000-8000-00000000000d", clientSecret: pulumi.secret(SIGN_IN_SECRET) },
                },
                ...overrides,
            },
            {
                // Transformations run in the SDK, so they see each child's options (dependsOn and the like).
                transformations: [
                    (args) => {
                        captured.set(args.name, args);
                        return undefined;
                    },
                ],
            },
        );
    }

    it("switches the cluster with the application's client id and secret, only after every principal and role assignment", async () => {
        const component = buildWithCluster();
        await resolved(component);
        await settle();
        const binding = mocks.named("pull-cluster-binding");
        assert.equal(binding.type, "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ClusterCredentialBinding");
        assert.equal(binding.inputs.subscriptionId, CLUSTER_SUB);
        assert.equal(binding.inputs.resourceGroupName, "rg-aks");
        assert.equal(binding.inputs.clusterName, "aks-prod");
        assert.equal(binding.inputs.tenantId, TENANT_A);
        assert.equal(binding.inputs.clientId, await promiseOf(component.applicationClientId));
        assert.ok(isSecretWrapped(binding.inputs.secret), "the client secret reached the binding in plain text");
        assert.equal(
            unwrapSecret(binding.inputs.secret),
            `${fakeSecretFor("pull-secret")}:${String(mocks.named("pull-secret").inputs.endDate)}`,
        );
        assert.ok(isSecretWrapped(binding.inputs.restoreSecret));
        assert.ok(isSecretWrapped(binding.inputs.signInClientSecret));
        assert.equal(binding.inputs.deletePolicy, "restore");
        assert.equal(binding.inputs.timeoutMinutes, 90);

        const options = captured.get("pull-cluster-binding")?.opts as pulumi.CustomResourceOptions;
        const dependsOn = (options.dependsOn as pulumi.Resource[]).map(nameOf).sort();
        const tenantARole = mocks.resources.find((r) => r.name.startsWith("pull-cluster-role-"))?.name;
        assert.deepEqual(
            dependsOn,
            [
                tenantARole,
                "pull-cluster-sp",
                "pull-contosoimages-pull",
                "pull-contosoimages-repository-reader",
                "pull-contososhared-pull",
                "pull-contososhared-repository-reader",
            ].sort(),
        );
        assert.deepEqual(options.additionalSecretOutputs, ["secret", "restoreSecret", "signInClientSecret"]);
        assert.equal((captured.get("pull-secret")?.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, undefined);
    });

    it("serializes a provider that carries no secret and no credential, and that loads and runs", async () => {
        await resolved(buildWithCluster());
        const serialized = mocks.named("pull-cluster-binding").inputs.__provider;
        assert.equal(typeof serialized, "string", "the serialized provider must not be a secret: it would mean a secret was captured");
        for (const secret of [fakeSecretFor("pull-secret"), SIGN_IN_SECRET, RESTORE_SECRET, "test-token"]) {
            assert.ok(!(serialized as string).includes(secret), `the serialized provider contains ${secret}`);
        }
        const file = path.join(__dirname, ".serialized-provider.js");
        fs.writeFileSync(file, serialized as string);
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const provider = (require(file) as { handler: () => pulumi.dynamic.ResourceProvider }).handler();
            const same = {
                subscriptionId: "s",
                resourceGroupName: "rg",
                clusterName: "c",
                clientId: "x",
                secret: "y",
                clusterClientId: "x",
            };
            assert.deepEqual(await provider.diff!("id", same, { ...same, clusterClientId: undefined }), {
                changes: false,
                replaces: [],
                deleteBeforeReplace: false,
            });
            await assert.rejects(provider.delete!("id", { ...same, deletePolicy: "refuse" }), /Refusing to delete the credential binding/);
        } finally {
            fs.rmSync(file, { force: true });
        }
    });

    it("grants the tenant-A roles to the cluster's principal through the tenant-A provider", async () => {
        const component = buildWithCluster();
        await resolved(component);
        const [role] = mocks.resources.filter((r) => r.name.startsWith("pull-cluster-role-"));
        assert.equal(role.inputs.scope, SUBNET);
        assert.equal(
            role.inputs.roleDefinitionId,
            `/subscriptions/${CLUSTER_SUB}/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7`,
        );
        assert.equal(role.inputs.principalId, await promiseOf(component.clusterTenantServicePrincipalObjectId));
        assert.equal(role.inputs.principalType, "ServicePrincipal");
        assert.equal(mocks.tenantOf(role), TENANT_A);
    });

    it("declares no binding without a cluster, for stacks that own their cluster", async () => {
        const component = build();
        await resolved(component);
        assert.equal(component.clusterBinding, undefined);
        assert.equal(mocks.resources.filter((r) => r.type.includes("ClusterCredentialBinding")).length, 0);
    });

    it("binds a cluster the stack creates itself, after the component's grants and the cluster", async () => {
        const component = buildWithCluster();
        const cluster = new StandInCluster("aks");
        const binding = component.bindCluster(
            "aks-credentials",
            {
                subscriptionId: CLUSTER_SUB,
                resourceGroupName: "rg-aks",
                clusterName: "aks-own",
                initialCredentialsApplied: true,
                deletePolicy: "leave",
            },
            { dependsOn: [cluster] },
        );
        await resolved(component);
        await promiseOf(binding.id);
        await settle();
        const recorded = mocks.named("aks-credentials");
        assert.equal(recorded.inputs.initialCredentialsApplied, true);
        assert.equal(recorded.inputs.clusterName, "aks-own");
        assert.equal(recorded.inputs.clientId, await promiseOf(component.applicationClientId));
        assert.ok(isSecretWrapped(recorded.inputs.secret));
        const options = captured.get("aks-credentials")?.opts as pulumi.CustomResourceOptions;
        const dependsOn = (options.dependsOn as pulumi.Resource[]).map(nameOf).sort();
        assert.deepEqual(dependsOn, ["aks", ...component.readyForCluster.map(nameOf)].sort());
        assert.throws(
            () => component.bindCluster("bad", { subscriptionId: "x", resourceGroupName: "rg", clusterName: "-aks" }),
            (error: unknown) =>
                error instanceof ValidationError && error.problems.map((p) => p.key).join() === "bad.subscriptionId,bad.clusterName",
        );
    });

    it("rejects a restore policy without the principal to restore, and bad cluster-tenant roles", () => {
        assert.throws(
            () =>
                buildWithCluster({
                    clusterTenantRoles: [
                        { scope: "/subscriptions/not-a-guid/resourceGroups/rg", role: "NetworkContributor" },
                        { scope: SUBNET, role: "Owner-ish" },
                    ],
                    cluster: { subscriptionId: CLUSTER_SUB, resourceGroupName: "rg-aks", clusterName: "aks-prod", deletePolicy: "restore" },
                }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    ["clusterTenantRoles[0]", "clusterTenantRoles[1]", "cluster.restore"],
                );
                return true;
            },
        );
    });
});

/** Stands in for the ManagedCluster a stack creates itself. */
class StandInCluster extends pulumi.CustomResource {
    constructor(name: string) {
        super("azure-native:containerservice:ManagedCluster", name, {});
    }
}

/** The resources an output carries: what a resource taking it records as its dependencies (the SDK's internal record). */
function outputResources(output: pulumi.Output<unknown>): Promise<Set<pulumi.Resource>> {
    return (output as unknown as { resources(): Promise<Set<pulumi.Resource>> }).resources();
}

/** The logical name of a resource (the SDK keeps it in `__name`). */
function nameOf(resource: pulumi.Resource): string {
    return (resource as unknown as { __name?: string }).__name ?? "";
}

describe("CrossTenantAcrPull delivering an image pull secret", () => {
    let cluster: import("../components").ClusterConnection;

    beforeEach(async () => {
        mocks = await installMocks();
        mocks.withKubernetes(["apps", "jobs"], ["default", "builder"]);
        components = await import("../components");
        cluster = components.clusterConnection("k8s", {
            subscriptionId: SUB_A,
            resourceGroupName: "rg-aks",
            clusterName: "aks-prod",
            // The fake API server behind the mocks: the delivery reads every namespace and service account there.
            kubeconfig: mocks.userKubeconfig,
        });
    });

    function buildPullSecret(
        delivery: Partial<ImagePullSecretDelivery> = {},
        overrides: Partial<CrossTenantAcrPullArgs> = {},
    ): CrossTenantAcrPullType {
        return build({ imagePullSecret: { ...cluster, namespaces: ["apps", "jobs"], ...delivery }, ...overrides });
    }

    async function delivered(component: CrossTenantAcrPullType): Promise<void> {
        await resolved(component);
        await promiseOf(pulumi.all([component.pullSecrets, pulumi.all(component.pullSecretResources.map((secret) => secret.id))]));
        await settle();
    }

    /** The decoded `.dockerconfigjson` of a recorded Secret. */
    function dockerConfigOf(secret: Recorded): DockerConfig {
        const data = unwrapSecret(secret.inputs.data) as Record<string, unknown>;
        const encoded = unwrapSecret(data[".dockerconfigjson"]);
        assert.equal(typeof encoded, "string");
        return JSON.parse(Buffer.from(encoded as string, "base64").toString("utf8")) as DockerConfig;
    }

    it("puts one dockerconfigjson Secret in each namespace with the application's client id and secret for every registry", async () => {
        const component = buildPullSecret();
        await delivered(component);
        const clientId = await promiseOf(component.applicationClientId);
        const { secret } = (await promiseOf(component.servicePrincipalProfile))!;
        const secrets = mocks.ofType("kubernetes:core/v1:Secret");
        assert.deepEqual(
            secrets.map((s) => [s.name, s.inputs.type, (s.inputs.metadata as { name: string; namespace: string }).namespace]),
            [
                ["pull-apps-pull-secret", "kubernetes.io/dockerconfigjson", "apps"],
                ["pull-jobs-pull-secret", "kubernetes.io/dockerconfigjson", "jobs"],
            ],
        );
        for (const recorded of secrets) {
            assert.equal((recorded.inputs.metadata as { name: string }).name, "acr-cross-tenant-pull");
            assert.equal(mocks.providerOf(recorded)?.name, "k8s");
            const data = unwrapSecret(recorded.inputs.data) as Record<string, unknown>;
            assert.ok(
                isSecretWrapped(recorded.inputs.data) || isSecretWrapped(data[".dockerconfigjson"]),
                "the Secret's data must be a secret",
            );
            const auth = Buffer.from(`${clientId}:${secret}`).toString("base64");
            assert.deepEqual(dockerConfigOf(recorded), {
                auths: {
                    "contosoimages.azurecr.io": { username: clientId, password: secret, auth },
                    "contososhared.azurecr.io": { username: clientId, password: secret, auth },
                },
            });
        }
        assert.deepEqual(await promiseOf(component.pullSecrets), ["apps/acr-cross-tenant-pull", "jobs/acr-cross-tenant-pull"]);
        assert.deepEqual(await promiseOf(component.registryLoginServers), ["contosoimages.azurecr.io", "contososhared.azurecr.io"]);
        assert.equal(component.clusterBinding, undefined);
        assert.equal(mocks.resources.filter((r) => r.type.includes("ClusterCredentialBinding")).length, 0);
        // Nothing that carries the secret is a plain output.
        const plain = await promiseOf(pulumi.all([component.pullSecrets, component.registryLoginServers, component.applicationClientId]));
        assert.ok(!JSON.stringify(plain).includes(fakeSecretFor("pull-secret")));
    });

    it("adds the Secret to each listed service account with a reference of its own that waits for the Secret and the checks", async () => {
        const readsBefore = (await mockCluster()).requests.length;
        const captured = new Map<string, pulumi.ResourceTransformationArgs>();
        const component = build(
            {
                imagePullSecret: {
                    ...cluster,
                    namespaces: ["apps", "jobs"],
                    serviceAccounts: ["default", "builder"],
                    secretName: "contoso",
                },
            },
            {
                transformations: [
                    (args) => {
                        captured.set(args.name, args);
                        return undefined;
                    },
                ],
            },
        );
        await delivered(component);
        assert.equal(mocks.ofType("kubernetes:core/v1:ServiceAccountPatch").length, 0, "no server-side-apply patch owns a list");
        const references = mocks.ofType(REFERENCE_TYPE);
        assert.deepEqual(
            references.map((reference) => [
                reference.name,
                reference.inputs.namespace,
                reference.inputs.serviceAccount,
                reference.inputs.secretName,
                mocks.providerOf(reference)?.name,
            ]),
            // Nothing secret in a reference: a preview shows which service account gets which entry.
            [
                ["pull-apps-default-image-pull-secret", "apps", "default", "contoso", "pull-references"],
                ["pull-apps-builder-image-pull-secret", "apps", "builder", "contoso", "pull-references"],
                ["pull-jobs-default-image-pull-secret", "jobs", "default", "contoso", "pull-references"],
                ["pull-jobs-builder-image-pull-secret", "jobs", "builder", "contoso", "pull-references"],
            ],
        );
        // One provider for every reference writes through the Kubernetes provider's kubeconfig, kept secret; no
        // reference carries it (or the runtime) in its own inputs.
        const [provider] = mocks.ofType("pulumi:providers:pulumi-nodejs");
        assert.equal(provider.name, "pull-references");
        assert.ok(isSecretWrapped(provider.inputs["aks-acr-cross-tenant:kubeconfig"]), "the references' kubeconfig is not secret");
        assert.equal(unwrapSecret(provider.inputs["aks-acr-cross-tenant:kubeconfig"]), mocks.userKubeconfig);
        for (const reference of references) {
            assert.equal(reference.inputs.kubeconfig, undefined);
            assert.ok(String(reference.inputs.__provider).length < 2_000, "a reference carries more than the provider's stub");
        }
        const patchOptions = [...captured.values()].find(
            (args) => args.name === "pull-apps-builder-image-pull-secret" && args.type.includes("ServiceAccountPullSecret"),
        )?.opts as pulumi.CustomResourceOptions;
        // After its own namespace's Secret, and nothing else: no reference depends on another namespace's checks.
        assert.deepEqual((patchOptions.dependsOn as pulumi.Resource[]).map(nameOf), ["pull-apps-pull-secret"]);
        const namespaceInput = (captured.get("pull-apps-builder-image-pull-secret")?.props as { namespace: pulumi.Output<string> })
            .namespace;
        assert.deepEqual([...(await outputResources(namespaceInput))].map(nameOf), [], "a reference waits on resources through its checks");
        // The Secret waits for every principal and pull role; nothing forces delete-before-replace.
        const secretOptions = captured.get("pull-apps-pull-secret")?.opts as pulumi.CustomResourceOptions;
        assert.deepEqual((secretOptions.dependsOn as pulumi.Resource[]).map(nameOf).sort(), component.readyForCluster.map(nameOf).sort());
        assert.equal(secretOptions.deleteBeforeReplace, undefined);
        // The Secret's data depends on the password, so a renewal updates it before the engine deletes the old
        // password at the end of the update. `resources()` is the SDK's internal record of an output's dependencies.
        const data = captured.get("pull-apps-pull-secret")?.props.data as Record<string, pulumi.Output<string>>;
        const dependencies = await outputResources(data[".dockerconfigjson"]);
        assert.ok([...dependencies].map(nameOf).includes("pull-secret"), "the pull secret's data does not depend on the password");
        // The namespaces and service accounts were read through the cluster's kubeconfig, once each, and are no
        // resources of the stack.
        const reads = (await mockCluster()).requests.slice(readsBefore).filter((request) => request.startsWith("GET /api/v1/namespaces/"));
        assert.deepEqual(reads.sort(), [
            "GET /api/v1/namespaces/apps",
            "GET /api/v1/namespaces/apps/serviceaccounts/builder",
            "GET /api/v1/namespaces/apps/serviceaccounts/default",
            "GET /api/v1/namespaces/jobs",
            "GET /api/v1/namespaces/jobs/serviceaccounts/builder",
            "GET /api/v1/namespaces/jobs/serviceaccounts/default",
        ]);
        assert.deepEqual(
            mocks.resources.filter((r) => r.read && r.type.startsWith("kubernetes:")),
            [],
        );
    });

    it("uses each cloud's registry login server", async () => {
        for (const [environment, suffix] of [
            ["usgovernment", "azurecr.us"],
            ["china", "azurecr.cn"],
        ] as const) {
            mocks = await installMocks();
            mocks.withKubernetes(["apps"], ["default"]);
            const component = buildPullSecret({ namespaces: ["apps"] }, { azureEnvironment: environment });
            await delivered(component);
            const [secret] = mocks.ofType("kubernetes:core/v1:Secret");
            assert.deepEqual(Object.keys(dockerConfigOf(secret).auths), [`contosoimages.${suffix}`, `contososhared.${suffix}`]);
        }
    });

    it("declares the same inputs when the same config is evaluated later, and rotates each Secret in place", async () => {
        const first = buildPullSecret();
        await delivered(first);
        const before = mocks.ofType("kubernetes:core/v1:Secret").map((s) => ({ name: s.name, inputs: s.inputs }));
        const deployed = mocks.snapshot();

        mocks = await installMocks("test", false, deployed);
        mocks.withKubernetes(["apps", "jobs"], ["default", "builder"]);
        const later = build({
            imagePullSecret: { ...cluster, namespaces: ["apps", "jobs"] },
            clock: () => new Date(NOW.getTime() + 86_400_000),
        });
        await delivered(later);
        const again = mocks.ofType("kubernetes:core/v1:Secret").map((s) => ({ name: s.name, inputs: s.inputs }));
        assert.deepEqual(again, before, "a later run inside the rotation window must declare identical Secrets");

        // After the window: a new password, the same Secrets (same names, namespaces and type) with new data only.
        const renewal = new Date(Date.parse(String(await promiseOf(first.secretRenewsAfter))) + 3_600_000);
        mocks = await installMocks("test", false, deployed);
        mocks.withKubernetes(["apps", "jobs"], ["default", "builder"]);
        const renewed = build({
            imagePullSecret: { ...cluster, namespaces: ["apps", "jobs"] },
            clock: () => renewal,
        });
        await delivered(renewed);
        const rotated = mocks.ofType("kubernetes:core/v1:Secret");
        assert.deepEqual(
            rotated.map((s) => [s.name, s.inputs.metadata, s.inputs.type]),
            before.map((s) => [s.name, s.inputs.metadata, s.inputs.type]),
        );
        const passwords = (secrets: readonly { inputs: Record<string, unknown> }[]): string[] =>
            secrets.map((secret) => dockerConfigOf(secret as Recorded).auths["contosoimages.azurecr.io"].password);
        const [oldPassword] = passwords(before);
        assert.deepEqual(passwords(rotated), [passwords(rotated)[0], passwords(rotated)[0]]);
        assert.notEqual(passwords(rotated)[0], oldPassword, "the rotated Secrets must carry the new password");
    });

    it("shares a list others wrote with plain updates, and adopts its entry where it is already listed", async () => {
        mocks.withKubernetes(["apps", "jobs"], ["default"], {
            "jobs/default": ["team-registry", "mirror"],
            "apps/default": ["acr-cross-tenant-pull", "mirror"],
        });
        const component = buildPullSecret();
        await delivered(component);
        assert.deepEqual(
            mocks.ofType(REFERENCE_TYPE).map((reference) => reference.name),
            ["pull-apps-default-image-pull-secret", "pull-jobs-default-image-pull-secret"],
        );
    });

    it("stops before declaring anything when another tool's server-side apply owns a list without our entry", async () => {
        mocks.withKubernetes(["apps", "jobs"], ["default"], { "jobs/default": ["team-registry"] }, { "jobs/default": "argocd-controller" });
        const errors = await capturedErrors(async () => {
            const component = buildPullSecret();
            throw await failureOf(component.applicationClientId);
        });
        assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
        assert.match(
            errors.logged[0],
            /^Service account jobs\/default: its imagePullSecrets list is owned by server-side apply \(field manager "argocd-controller"\)\./,
        );
        assert.match(errors.logged[0], /add \{name: "acr-cross-tenant-pull"\} to the imagePullSecrets of that service account/);
        assert.match(errors.logged[0], /pullSecretTarget: pods/);
        assert.ok(errors.thrown instanceof Error);
        await assertNothingDeclared();
    });

    it("goes on where an applied list already holds our entry, or holds only the entry an earlier version's patch applied", async () => {
        mocks.withKubernetes(
            ["apps", "jobs"],
            ["default"],
            { "apps/default": ["mirror", "acr-cross-tenant-pull"], "jobs/default": ["acr-cross-tenant-pull"] },
            { "apps/default": "argocd-controller", "jobs/default": "pulumi-kubernetes-0a1b2c3d" },
        );
        const component = buildPullSecret();
        await delivered(component);
        assert.equal(mocks.ofType(REFERENCE_TYPE).length, 2);
    });

    it("fails naming a service account that does not exist, before declaring anything", async () => {
        mocks.kubernetesObjects.delete("jobs/builder");
        const errors = await capturedErrors(async () => {
            const component = buildPullSecret({ serviceAccounts: ["default", "builder"] });
            throw await failureOf(component.applicationClientId);
        });
        assert.match(String(errors.thrown), /service account jobs\/builder does not exist; create it/);
        assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
        await assertNothingDeclared();
    });

    it("rejects a bad delivery with every problem before declaring anything", () => {
        assert.throws(
            () =>
                build({
                    cluster: { subscriptionId: SUB_A, resourceGroupName: "rg-aks", clusterName: "aks-prod" },
                    clusterTenantRoles: [{ scope: `/subscriptions/${SUB_A}`, role: "Reader" }],
                    imagePullSecret: {
                        ...cluster,
                        namespaces: ["apps", "Apps", "apps"],
                        serviceAccounts: ["default", "bad_name"],
                        secretName: "Pull",
                    },
                }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    [
                        "imagePullSecret.namespaces[1]",
                        "imagePullSecret.namespaces[2]",
                        "imagePullSecret.serviceAccounts[1]",
                        "imagePullSecret.secretName",
                        "imagePullSecret",
                        "clusterTenantRoles",
                    ],
                );
                return true;
            },
        );
        assert.throws(() => buildPullSecret({ namespaces: [] }), /imagePullSecret\.namespaces: got \[\]; expected at least one name/);
    });
});

describe("CrossTenantAcrPull injecting the pull secret into pods", () => {
    const POLICY_TYPE = "kubernetes:admissionregistration.k8s.io/v1:MutatingAdmissionPolicy";
    const BINDING_TYPE = "kubernetes:admissionregistration.k8s.io/v1:MutatingAdmissionPolicyBinding";
    let discovery: FakeDiscovery;
    let cluster: import("../components").ClusterConnection;

    before(async () => {
        discovery = await startFakeDiscovery();
    });
    after(() => discovery.close());

    beforeEach(async () => {
        discovery.served.set("admissionregistration.k8s.io/v1", [
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
            "validatingadmissionpolicies",
        ]);
        mocks = await installMocks();
        mocks.withKubernetes(["apps", "jobs"], ["default"]);
        components = await import("../components");
        cluster = components.clusterConnection("k8s", {
            subscriptionId: SUB_A,
            resourceGroupName: "rg-aks",
            clusterName: "aks-prod",
            kubeconfig: discovery.kubeconfig(),
        });
    });

    it("declares a MutatingAdmissionPolicy and its binding for the listed namespaces, after the Secrets, and writes no service account", async () => {
        const captured = new Map<string, pulumi.ResourceTransformationArgs>();
        const component = build(
            { imagePullSecret: { ...cluster, namespaces: ["apps", "jobs"], target: "pods", secretName: "contoso" } },
            { transformations: [(args) => void captured.set(`${args.type}/${args.name}`, args)] },
        );
        await resolved(component);
        await promiseOf(pulumi.all(component.pullSecretResources.map((secret) => secret.id)));
        await settle();
        assert.equal(mocks.ofType("kubernetes:core/v1:Secret").length, 2);
        assert.deepEqual(mocks.ofType(REFERENCE_TYPE), []);
        assert.deepEqual(
            mocks.resources.filter((r) => r.type === "kubernetes:core/v1:ServiceAccount"),
            [],
            "no service account is read",
        );
        const [policy] = mocks.ofType(POLICY_TYPE);
        const [binding] = mocks.ofType(BINDING_TYPE);
        assert.equal(mocks.providerOf(policy)?.name, "k8s");
        assert.equal(mocks.providerOf(binding)?.name, "k8s");
        assert.ok(!isSecretWrapped(policy.inputs.spec), "the policy's spec is hidden as a secret in previews");
        const spec = policy.inputs.spec as { mutations: { jsonPatch: { expression: string } }[]; failurePolicy: string };
        assert.match(spec.mutations[0].jsonPatch.expression, /name: "contoso"/);
        assert.equal(spec.failurePolicy, "Fail");
        const bindingSpec = binding.inputs.spec as { matchResources: { namespaceSelector: { matchExpressions: { values: string[] }[] } } };
        assert.deepEqual(bindingSpec.matchResources.namespaceSelector.matchExpressions[0].values, ["apps", "jobs"]);
        const policyOptions = captured.get(`${POLICY_TYPE}/pull-pod-pull-secret`)?.opts as pulumi.CustomResourceOptions;
        assert.deepEqual((policyOptions.dependsOn as pulumi.Resource[]).map(nameOf), ["pull-apps-pull-secret", "pull-jobs-pull-secret"]);
    });

    it("stops before declaring anything on a cluster that does not serve mutating admission policies, naming the version it needs", async () => {
        discovery.served.set("admissionregistration.k8s.io/v1", ["validatingadmissionpolicies", "validatingadmissionpolicybindings"]);
        const errors = await capturedErrors(async () => {
            const component = build({ imagePullSecret: { ...cluster, namespaces: ["apps"], target: "pods" } });
            throw await failureOf(component.applicationClientId);
        });
        assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
        assert.match(
            errors.logged[0],
            /The cluster \(Kubernetes v1\.35\.2\) does not serve mutatingadmissionpolicies in admissionregistration\.k8s\.io\/v1/,
        );
        assert.match(errors.logged[0], /It needs Kubernetes 1\.36 or later\. Nothing was created\./);
        assert.ok(!errors.logged[0].includes("KUBE-TOKEN-SECRET"));
        await assertNothingDeclared();
    });

    it("names a missing kubeconfig, a bad target and service accounts given for pods, all in one error", () => {
        assert.throws(
            () =>
                build({ imagePullSecret: { provider: cluster.provider, kubeconfig: "", namespaces: ["apps"], target: "nodes" as "pods" } }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    ["imagePullSecret.kubeconfig", "imagePullSecret.target"],
                );
                return true;
            },
        );
        assert.throws(
            () => build({ imagePullSecret: { ...cluster, namespaces: ["apps"], target: "pods", serviceAccounts: ["default"] } }),
            /imagePullSecret\.serviceAccounts: got \["default"\]; expected no service accounts with target pods/,
        );
    });
});

describe("CrossTenantAcrPull minting registry tokens in the cluster from a federated credential", () => {
    const ISSUER = "https://westeurope.oic.prod-aks.azure.com/aaaaaaaa-0000-4000-8000-00000000000a/11111111-2222-4333-8444-555555555555/";
    const FIC_TYPE = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential";
    let discovery: FakeDiscovery;
    let connection: import("../components").ClusterConnection;

    before(async () => {
        discovery = await startFakeDiscovery();
    });
    after(() => discovery.close());

    beforeEach(async () => {
        discovery.served.set("external-secrets.io/v1", ["externalsecrets", "secretstores"]);
        discovery.served.set("generators.external-secrets.io/v1alpha1", ["acraccesstokens", "passwords"]);
        mocks = await installMocks();
        mocks.withKubernetes(["apps", "jobs"], ["default"]);
        mocks.cluster = { identity: { type: "SystemAssigned" }, oidcIssuerProfile: { enabled: true, issuerURL: ISSUER } };
        components = await import("../components");
        connection = components.clusterConnection("k8s", {
            subscriptionId: SUB_A,
            resourceGroupName: "rg-aks",
            clusterName: "aks-prod",
            kubeconfig: discovery.kubeconfig(),
        });
    });

    function buildFederated(
        delivery: Partial<import("../components").FederatedPullSecretDelivery> = {},
        overrides: Partial<CrossTenantAcrPullArgs> = {},
    ): CrossTenantAcrPullType {
        return build({
            federatedPullSecret: {
                ...connection,
                cluster: { resourceGroupName: "rg-aks", clusterName: "aks-prod" },
                namespaces: ["apps", "jobs"],
                ...delivery,
            },
            ...overrides,
        });
    }

    async function delivered(component: CrossTenantAcrPullType): Promise<void> {
        await resolved(component);
        await promiseOf(component.pullSecrets);
        await settle();
    }

    it("declares no password, and a federated credential per namespace trusting the cluster's OIDC issuer", async () => {
        const component = buildFederated();
        await delivered(component);
        assert.deepEqual(mocks.ofType("azuread:index/applicationPassword:ApplicationPassword"), []);
        assert.deepEqual(mocks.ofType("random:index/randomId:RandomId"), [], "no rotation anchor: nothing rotates");
        assert.ok(!mocks.resources.some((r) => r.name === "pull-app-deployed"), "no read of the secret's dates");
        const app = mocks.named("pull-app");
        const credentials = mocks.ofType(FIC_TYPE);
        assert.deepEqual(
            credentials.map((c) => [
                c.name,
                c.inputs.applicationId,
                c.inputs.issuer,
                c.inputs.subject,
                c.inputs.audiences,
                mocks.tenantOf(c),
            ]),
            [
                [
                    "pull-federated-apps",
                    app.id,
                    ISSUER,
                    "system:serviceaccount:apps:acr-token-minter",
                    ["api://AzureADTokenExchange"],
                    TENANT_A,
                ],
                [
                    "pull-federated-jobs",
                    app.id,
                    ISSUER,
                    "system:serviceaccount:jobs:acr-token-minter",
                    ["api://AzureADTokenExchange"],
                    TENANT_A,
                ],
            ],
        );
        for (const credential of credentials) {
            assert.match(String(credential.inputs.displayName), /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/, "Entra's name rules");
        }
        // The pull roles and the tenant-B principal are the grant's as always.
        assert.equal(mocks.ofType("azure-native:authorization:RoleAssignment").length, 4);
        const read = mocks.calls.find((call) => call.token === "azure-native:containerservice:getManagedCluster");
        assert.deepEqual(read?.inputs, { resourceGroupName: "rg-aks", resourceName: "aks-prod" });
        // Nothing to renew, no secret in any output.
        assert.deepEqual(
            await promiseOf(
                pulumi.all([
                    component.secretExpiresAt,
                    component.secretRenewsAfter,
                    component.secretWindowAnchor,
                    component.servicePrincipalProfile,
                ]),
            ),
            [undefined, undefined, undefined, undefined],
        );
        assert.ok(!JSON.stringify(mocks.resources.map((r) => r.inputs)).includes(fakeSecretFor("pull-secret")));
    });

    it("declares in each namespace the minting service account, a generator per registry and the ExternalSecret, then the references", async () => {
        const component = buildFederated({ serviceAccounts: ["default"], secretName: "contoso-pull", refreshInterval: "30m" });
        await delivered(component);
        const clientId = await promiseOf(component.applicationClientId);
        assert.deepEqual(mocks.ofType("kubernetes:core/v1:Secret"), [], "ESO writes the Secret; this stack declares none");
        const minters = mocks.managed().filter((r) => r.type === "kubernetes:core/v1:ServiceAccount");
        assert.deepEqual(
            minters.map((m) => [m.name, m.inputs.metadata, m.inputs.automountServiceAccountToken, mocks.providerOf(m)?.name]),
            ["apps", "jobs"].map((namespace) => [
                `pull-${namespace}-token-minter`,
                {
                    name: "acr-token-minter",
                    namespace,
                    labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aks-acr-cross-tenant" },
                    annotations: { "azure.workload.identity/client-id": clientId, "azure.workload.identity/tenant-id": TENANT_B },
                },
                false,
                "k8s",
            ]),
        );
        const generators = mocks.ofType("kubernetes:generators.external-secrets.io/v1alpha1:ACRAccessToken");
        assert.deepEqual(
            generators.map((g) => [
                (g.inputs.metadata as { namespace: string; name: string }).namespace,
                (g.inputs.metadata as { name: string }).name,
                g.inputs.spec,
            ]),
            ["apps", "jobs"].flatMap((namespace) =>
                [
                    ["acr-contosoimages", "contosoimages.azurecr.io"],
                    ["acr-contososhared", "contososhared.azurecr.io"],
                ].map(([name, registry]) => [
                    namespace,
                    name,
                    {
                        tenantId: TENANT_B,
                        registry,
                        environmentType: "PublicCloud",
                        auth: { workloadIdentity: { serviceAccountRef: { name: "acr-token-minter" } } },
                    },
                ]),
            ),
        );
        const externalSecrets = mocks.ofType("kubernetes:external-secrets.io/v1:ExternalSecret");
        assert.equal(externalSecrets.length, 2);
        const [apps] = externalSecrets;
        assert.deepEqual((apps.inputs.metadata as { annotations: unknown }).annotations, { "pulumi.com/waitFor": "condition=Ready" });
        const spec = apps.inputs.spec as {
            refreshInterval: string;
            dataFrom: { sourceRef: { generatorRef: { name: string } }; rewrite: { regexp: { target: string } }[] }[];
            target: { name: string; creationPolicy: string; template: { type: string; data: Record<string, string> } };
        };
        assert.equal(spec.refreshInterval, "30m0s", "Go's form, as ESO writes it back");
        assert.deepEqual(
            spec.dataFrom.map((d) => [d.sourceRef.generatorRef.name, d.rewrite[0].regexp.target]),
            [
                ["acr-contosoimages", "acr0_${1}"],
                ["acr-contososhared", "acr1_${1}"],
            ],
        );
        assert.deepEqual(
            [spec.target.name, spec.target.creationPolicy, spec.target.template.type],
            ["contoso-pull", "Owner", "kubernetes.io/dockerconfigjson"],
        );
        // The template is a dockerconfigjson once ESO fills in each generator's renamed keys.
        const filled = spec.target.template.data[".dockerconfigjson"].replace(/\{\{ [^}]* \}\}/g, "X");
        assert.deepEqual(Object.keys((JSON.parse(filled) as { auths: object }).auths), [
            "contosoimages.azurecr.io",
            "contososhared.azurecr.io",
        ]);
        assert.match(
            spec.target.template.data[".dockerconfigjson"],
            /"username":"\{\{ \.acr1_username \}\}","password":"\{\{ \.acr1_password \}\}"/,
        );
        // The references name the Secret ESO writes.
        assert.deepEqual(
            mocks.ofType(REFERENCE_TYPE).map((r) => [r.inputs.namespace, r.inputs.serviceAccount, r.inputs.secretName]),
            [
                ["apps", "default", "contoso-pull"],
                ["jobs", "default", "contoso-pull"],
            ],
        );
        assert.deepEqual(await promiseOf(component.pullSecrets), ["apps/contoso-pull", "jobs/contoso-pull"]);
    });

    it("stops before declaring anything on a cluster without an OIDC issuer, naming the command that enables it", async () => {
        mocks.cluster = { identity: { type: "SystemAssigned" }, oidcIssuerProfile: { enabled: false } };
        const errors = await capturedErrors(async () => {
            throw await failureOf(buildFederated().applicationClientId);
        });
        assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
        assert.match(errors.logged[0], /AKS cluster aks-prod \(resource group rg-aks\) has no OIDC issuer/);
        assert.match(errors.logged[0], /az aks update --resource-group rg-aks --name aks-prod --enable-oidc-issuer/);
        await assertNothingDeclared();
    });

    it("stops before declaring anything on a cluster without External Secrets Operator, naming the version it needs", async () => {
        discovery.served.delete("generators.external-secrets.io/v1alpha1");
        const errors = await capturedErrors(async () => {
            throw await failureOf(buildFederated().applicationClientId);
        });
        assert.equal(errors.logged.length, 1, errors.logged.join("\n"));
        assert.match(errors.logged[0], /does not serve acraccesstokens in generators\.external-secrets\.io\/v1alpha1/);
        assert.match(errors.logged[0], /Install External Secrets Operator v0\.17\.0 or later/);
        assert.ok(!errors.logged[0].includes("KUBE-TOKEN-SECRET"));
        await assertNothingDeclared();
    });

    it("names every bad federated setting in one error, Entra's 20-credential limit and the secret's keys included", () => {
        const many = Array.from({ length: 21 }, (_, i) => `team-${i}`);
        assert.throws(
            () =>
                buildFederated(
                    {
                        namespaces: many,
                        minterServiceAccount: "Bad_Name",
                        refreshInterval: "5h",
                        cluster: { resourceGroupName: "rg-aks", clusterName: "" },
                    },
                    { secretLifetimeDays: 90, imagePullSecret: { ...connection, namespaces: ["apps"] } },
                ),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((p) => p.key),
                    [
                        "federatedPullSecret.cluster.clusterName",
                        "federatedPullSecret.minterServiceAccount",
                        "federatedPullSecret.refreshInterval",
                        "federatedPullSecret.namespaces",
                        "federatedPullSecret",
                        "secretLifetimeDays",
                    ],
                );
                assert.match(error.problems[3].expected, /at most 20: each needs a federated credential/);
                return true;
            },
        );
    });
});

describe("CrossTenantAcrPull switching a managed-identity cluster", () => {
    beforeEach(async () => {
        mocks = await installMocks();
        components = await import("../components");
    });

    for (const cluster of [
        { servicePrincipalProfile: { clientId: "msi" } },
        { servicePrincipalProfile: { clientId: "msi" }, identity: { type: "UserAssigned" } },
        { identity: { type: "SystemAssigned" } },
    ]) {
        it(`stops before declaring anything for ${JSON.stringify(cluster)}, naming the image pull secret delivery`, async () => {
            mocks.cluster = cluster;
            const errors = await capturedErrors(async () => {
                const component = build({ cluster: { subscriptionId: SUB_A, resourceGroupName: "rg-aks", clusterName: "aks-prod" } });
                throw await failureOf(component.applicationClientId);
            });
            assert.equal(errors.logged.length, 1);
            assert.match(
                errors.logged[0],
                /uses a managed identity .*credentialDelivery: imagePullSecret.*imagePullSecret.*instead of `cluster`/s,
            );
            await assertNothingDeclared();
        });
    }

    it("accepts a service-principal cluster (identity None) and reads it once", async () => {
        mocks.cluster = { servicePrincipalProfile: { clientId: "11111111-0000-4000-8000-000000000001" }, identity: { type: "None" } };
        const component = build({ cluster: { subscriptionId: SUB_A, resourceGroupName: "rg-aks", clusterName: "aks-prod" } });
        await resolved(component);
        await promiseOf(component.clusterBinding!.id);
        assert.deepEqual(
            mocks.calls.map((call) => call.token),
            ["azure-native:containerservice:getManagedCluster"],
        );
    });
});

/** Asserts that no Azure or Kubernetes resource reached the engine (reads aside). */
async function assertNothingDeclared(): Promise<void> {
    await settle();
    const declared = mocks.managed().filter((r) => r.type.startsWith("azure") || r.type.startsWith("kubernetes:"));
    assert.deepEqual(
        declared.map((r) => r.name),
        [],
    );
}

/** Runs `body` with pulumi.log.error captured, and returns what was logged and what `body` rejected with. */
async function capturedErrors(body: () => Promise<unknown>): Promise<{ logged: string[]; thrown: unknown }> {
    const logged: string[] = [];
    const log = pulumi.log as { error: typeof pulumi.log.error };
    const original = log.error;
    log.error = async (message: string) => void logged.push(message);
    let thrown: unknown;
    try {
        await body();
    } catch (error) {
        thrown = error;
    } finally {
        log.error = original;
    }
    return { logged, thrown };
}
