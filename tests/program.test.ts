import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { crossTenantApplicationsAreMultitenant, policies } from "../policy/policies";
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
    type StackState,
} from "./mocks";

const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const REPOSITORY_READER = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
const PROGRAM = path.resolve(__dirname, "..", "index.js");
const NS = "aks-acr-cross-tenant";
const REGISTRIES = [
    registryId(SUB_B2, "rg-images", "contosoimages"),
    registryId(SUB_B1, "rg-shared", "contososhared"),
    registryId(SUB_B2, "rg-images", "contosotools"),
];

const REQUIRED: Record<string, string> = {
    [`${NS}:clusterTenantId`]: TENANT_A,
    [`${NS}:clusterSubscriptionId`]: SUB_A,
    [`${NS}:clusterResourceGroup`]: "rg-aks",
    [`${NS}:clusterName`]: "aks-prod",
    [`${NS}:registryTenantId`]: TENANT_B,
    [`${NS}:registryIds`]: JSON.stringify(REGISTRIES),
};

type ProgramExports = Record<string, pulumi.Output<unknown>>;

/** Runs the program under mocks with the given stack config, as `pulumi up` would evaluate it. */
async function runProgram(
    config: Record<string, string>,
    secretKeys: string[] = [],
    deployed: StackState = new Map(),
    prepare: (mocks: RecordingMocks) => void = () => undefined,
): Promise<{ mocks: RecordingMocks; exports: ProgramExports }> {
    const mocks = await installMocks("prod", false, deployed);
    prepare(mocks);
    pulumi.runtime.setAllConfig(config, secretKeys);
    delete require.cache[PROGRAM];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(PROGRAM) as ProgramExports;
    await promiseOf(pulumi.all(Object.values(exports)));
    await settle();
    return { mocks, exports };
}

describe("program", () => {
    it("declares four explicit providers, each pinned to its tenant and subscription", async () => {
        const { mocks } = await runProgram(REQUIRED);
        const providers = mocks.resources.filter((r) => r.type.startsWith("pulumi:providers:"));
        assert.deepEqual(providers.map((p) => [p.type, p.name, p.inputs.tenantId, p.inputs.subscriptionId, p.inputs.environment]).sort(), [
            ["pulumi:providers:azure-native", "cluster-tenant-azure-native", TENANT_A, SUB_A, "public"],
            ["pulumi:providers:azure-native", "registry-tenant-azure-native", TENANT_B, SUB_B2, "public"],
            ["pulumi:providers:azuread", "cluster-tenant-azuread", TENANT_A, undefined, "global"],
            ["pulumi:providers:azuread", "registry-tenant-azuread", TENANT_B, undefined, "global"],
        ]);
        // No resource may use a default provider, which would fall back to ARM_* variables.
        for (const resource of mocks.resources.filter((r) => r.type.startsWith("azure"))) {
            assert.ok(mocks.providerOf(resource), `${resource.name} uses a default provider`);
        }
    });

    it("declares exactly the cross-tenant resources, in the right tenants, with both pull roles on each registry", async () => {
        const { mocks, exports } = await runProgram(REQUIRED);
        const tenants = mocks
            .managed()
            .filter((r) => !r.type.startsWith("pulumi:providers:") && r.type.startsWith("azure"))
            .map((r) => [r.type.split(":").pop(), r.name, mocks.tenantOf(r)]);
        assert.deepEqual(tenants.sort(), [
            ["Application", "cross-tenant-acr-pull-app", TENANT_A],
            ["ApplicationPassword", "cross-tenant-acr-pull-secret", TENANT_A],
            ["RoleAssignment", "cross-tenant-acr-pull-contosoimages-pull", TENANT_B],
            ["RoleAssignment", "cross-tenant-acr-pull-contosoimages-repository-reader", TENANT_B],
            ["RoleAssignment", "cross-tenant-acr-pull-contososhared-pull", TENANT_B],
            ["RoleAssignment", "cross-tenant-acr-pull-contososhared-repository-reader", TENANT_B],
            ["RoleAssignment", "cross-tenant-acr-pull-contosotools-pull", TENANT_B],
            ["RoleAssignment", "cross-tenant-acr-pull-contosotools-repository-reader", TENANT_B],
            ["ServicePrincipal", "cross-tenant-acr-pull-cluster-sp", TENANT_A],
            ["ServicePrincipal", "cross-tenant-acr-pull-registry-sp", TENANT_B],
        ]);
        assert.equal(mocks.named("cross-tenant-acr-pull-app").inputs.displayName, "aks-prod-acr-pull-prod");
        // Besides: the rotation anchor (no provider settings, no credentials) and a read of the application as Entra
        // holds it, in tenant A.
        assert.deepEqual(
            mocks.ofType("random:index/randomId:RandomId").map((r) => r.name),
            ["cross-tenant-acr-pull-secret-anchor"],
        );
        const read = mocks.named("cross-tenant-acr-pull-app-deployed");
        assert.ok(read.read);
        assert.equal(read.id, mocks.named("cross-tenant-acr-pull-app").id);
        assert.equal(mocks.tenantOf(read), TENANT_A);
        const principalId = await promiseOf(exports.registryTenantServicePrincipalObjectId);
        const assignments = mocks.ofType("azure-native:authorization:RoleAssignment");
        assert.deepEqual(
            assignments
                .map((a) => [
                    a.inputs.scope,
                    String(a.inputs.roleDefinitionId).split("/")[2],
                    String(a.inputs.roleDefinitionId).split("/").pop(),
                    a.inputs.principalId,
                    a.inputs.principalType,
                ])
                .sort(),
            [
                [REGISTRIES[0], SUB_B2, ACR_PULL, principalId, "ServicePrincipal"],
                [REGISTRIES[0], SUB_B2, REPOSITORY_READER, principalId, "ServicePrincipal"],
                [REGISTRIES[1], SUB_B1, ACR_PULL, principalId, "ServicePrincipal"],
                [REGISTRIES[1], SUB_B1, REPOSITORY_READER, principalId, "ServicePrincipal"],
                [REGISTRIES[2], SUB_B2, ACR_PULL, principalId, "ServicePrincipal"],
                [REGISTRIES[2], SUB_B2, REPOSITORY_READER, principalId, "ServicePrincipal"],
            ].sort(),
        );
    });

    it("exports the documented outputs and never the secret", async () => {
        const { exports } = await runProgram(REQUIRED);
        assert.deepEqual(Object.keys(exports).sort(), [
            "adminConsentUrl",
            "applicationClientId",
            "applicationObjectId",
            "clusterTenantServicePrincipalObjectId",
            "credentialDelivery",
            "previousClusterClientId",
            "pullSecrets",
            "registryLoginServers",
            "registryTenantServicePrincipalObjectId",
            "roleAssignmentIds",
            "secretExpiresAt",
            "secretRenewsAfter",
            "secretWindowAnchor",
        ]);
        const values = await promiseOf(pulumi.all(exports));
        assert.ok(!JSON.stringify(values).includes(fakeSecretFor("cross-tenant-acr-pull-secret")));
        assert.match(String(values.secretExpiresAt), /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
        // Both pull roles on each of the three registries.
        assert.equal((values.roleAssignmentIds as string[]).length, 6);
        assert.equal(values.credentialDelivery, "clusterServicePrincipal");
        assert.deepEqual(values.registryLoginServers, ["contosoimages.azurecr.io", "contososhared.azurecr.io", "contosotools.azurecr.io"]);
        assert.deepEqual(values.pullSecrets, []);
    });

    it("passes per-tenant CI credentials to the providers as secrets", async () => {
        const clusterSecret = "cluster-ci-secret";
        const { mocks } = await runProgram(
            {
                ...REQUIRED,
                [`${NS}:clusterClientId`]: SUB_A,
                [`${NS}:clusterClientSecret`]: clusterSecret,
                [`${NS}:registryClientId`]: SUB_B1,
                [`${NS}:registryClientSecret`]: "registry-ci-secret",
                [`${NS}:azureEnvironment`]: "china",
            },
            [`${NS}:clusterClientSecret`, `${NS}:registryClientSecret`],
        );
        const provider = mocks.named("cluster-tenant-azure-native");
        assert.equal(unwrapSecret(provider.inputs.clientId), SUB_A);
        assert.equal(provider.inputs.environment, "china");
        assert.equal(mocks.named("cluster-tenant-azuread").inputs.environment, "china");
        assert.equal(unwrapSecret(mocks.named("registry-tenant-azuread").inputs.clientId), SUB_B1);
        for (const name of ["cluster-tenant-azuread", "cluster-tenant-azure-native"]) {
            const secret = mocks.named(name).inputs.clientSecret;
            assert.ok(isSecretWrapped(secret), `${name} received the client secret in plain text`);
            assert.equal(unwrapSecret(secret), clusterSecret);
        }
        assert.ok(isSecretWrapped(mocks.named("registry-tenant-azure-native").inputs.clientSecret));
    });

    it("switches the configured cluster by default, after every role assignment, with the cluster tenant's sign-in", async () => {
        const { mocks, exports } = await runProgram(
            {
                ...REQUIRED,
                [`${NS}:clusterClientId`]: SUB_A,
                [`${NS}:clusterClientSecret`]: "cluster-ci-secret",
                [`${NS}:registryClientId`]: SUB_B1,
                [`${NS}:registryClientSecret`]: "registry-ci-secret",
                [`${NS}:clusterDeletePolicy`]: "leave",
                [`${NS}:resetTimeoutMinutes`]: "120",
            },
            [`${NS}:clusterClientSecret`, `${NS}:registryClientSecret`],
        );
        const binding = mocks.named("cross-tenant-acr-pull-cluster-binding");
        assert.deepEqual(
            [binding.inputs.subscriptionId, binding.inputs.resourceGroupName, binding.inputs.clusterName, binding.inputs.tenantId],
            [SUB_A, "rg-aks", "aks-prod", TENANT_A],
        );
        assert.equal(binding.inputs.clientId, await promiseOf(exports.applicationClientId));
        assert.equal(binding.inputs.deletePolicy, "leave");
        assert.equal(binding.inputs.timeoutMinutes, 120);
        assert.equal(binding.inputs.signInClientId, SUB_A, "the binding must sign in to the cluster's tenant, not the registry's");
        assert.equal(unwrapSecret(binding.inputs.signInClientSecret), "cluster-ci-secret");
        assert.ok(isSecretWrapped(binding.inputs.secret));
    });

    it("declares only the grant with credentialDelivery none: no binding, no Kubernetes, no read of the cluster", async () => {
        const { mocks } = await runProgram({ ...REQUIRED, [`${NS}:credentialDelivery`]: "none" });
        assert.equal(mocks.resources.filter((r) => r.type.includes("ClusterCredentialBinding")).length, 0);
        assert.equal(mocks.resources.filter((r) => r.type.startsWith("kubernetes:") || r.type.includes("kubernetes")).length, 0);
        assert.deepEqual(mocks.calls, []);
        assert.equal(mocks.ofType("azure-native:authorization:RoleAssignment").length, 6);
    });

    it("reads the cluster before anything else in clusterServicePrincipal mode, through the tenant-A provider", async () => {
        const { mocks } = await runProgram(REQUIRED);
        const [read] = mocks.calls;
        assert.equal(read.token, "azure-native:containerservice:getManagedCluster");
        assert.deepEqual(read.inputs, { resourceGroupName: "rg-aks", resourceName: "aks-prod" });
        assert.ok(read.provider.includes("cluster-tenant-azure-native"), `the read used ${read.provider}`);
    });

    it("stops a managed-identity cluster in clusterServicePrincipal mode before anything is created, naming credentialDelivery: imagePullSecret", async () => {
        const errors: string[] = [];
        const log = pulumi.log as { error: typeof pulumi.log.error };
        const original = log.error;
        log.error = async (message: string) => void errors.push(message);
        let failure: unknown;
        let mocks: RecordingMocks;
        try {
            mocks = await installMocks("prod");
            mocks.cluster = { servicePrincipalProfile: { clientId: "msi" }, identity: { type: "SystemAssigned" } };
            pulumi.runtime.setAllConfig(REQUIRED, []);
            delete require.cache[PROGRAM];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const exports = require(PROGRAM) as ProgramExports;
            failure = await failureOf(exports.applicationClientId);
            await settle();
        } finally {
            log.error = original;
        }
        assert.ok(failure instanceof Error, "the program must fail");
        assert.equal(errors.length, 1, errors.join("\n"));
        assert.match(errors[0], /AKS cluster "aks-prod" \(resource group "rg-aks", subscription "aaaaaaaa-.*"\) uses a managed identity/);
        assert.match(errors[0], /credentialDelivery: imagePullSecret/);
        assert.match(errors[0], /Nothing was created/);
        const declared = mocks.resources.filter((r) => !r.type.startsWith("pulumi:") && !r.type.startsWith("aks-acr-cross-tenant:"));
        assert.deepEqual(
            declared.map((r) => r.name),
            [],
            "nothing may be declared when the delivery cannot work",
        );
    });

    describe("with credentialDelivery federatedPullSecret", () => {
        let discovery: FakeDiscovery;
        before(async () => {
            discovery = await startFakeDiscovery();
            discovery.served.set("external-secrets.io/v1", ["externalsecrets"]);
            discovery.served.set("generators.external-secrets.io/v1alpha1", ["acraccesstokens"]);
        });
        after(() => discovery.close());

        it("declares federated credentials and ESO's objects instead of a password, and exports nothing to renew", async () => {
            const { mocks, exports } = await runProgram(
                {
                    ...REQUIRED,
                    [`${NS}:credentialDelivery`]: "federatedPullSecret",
                    [`${NS}:pullSecretNamespaces`]: JSON.stringify(["apps"]),
                    [`${NS}:kubeconfig`]: discovery.kubeconfig(),
                    [`${NS}:tokenRefreshInterval`]: "45m",
                },
                [`${NS}:kubeconfig`],
                new Map(),
                (m) => {
                    m.withKubernetes(["apps"], ["default"]);
                    m.cluster = {
                        identity: { type: "SystemAssigned" },
                        oidcIssuerProfile: { enabled: true, issuerURL: "https://issuer.example/x/" },
                    };
                },
            );
            assert.deepEqual(mocks.ofType("azuread:index/applicationPassword:ApplicationPassword"), []);
            const [credential] = mocks.ofType(
                "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
            );
            assert.deepEqual(
                [credential.inputs.issuer, credential.inputs.subject],
                ["https://issuer.example/x/", "system:serviceaccount:apps:acr-token-minter"],
            );
            const [externalSecret] = mocks.ofType("kubernetes:external-secrets.io/v1:ExternalSecret");
            assert.equal((externalSecret.inputs.spec as { refreshInterval: string }).refreshInterval, "45m0s");
            const values = await promiseOf(pulumi.all(exports));
            assert.equal(values.credentialDelivery, "federatedPullSecret");
            assert.deepEqual(
                [values.secretExpiresAt, values.secretRenewsAfter, values.secretWindowAnchor],
                [undefined, undefined, undefined],
            );
            assert.deepEqual(values.pullSecrets, ["apps/acr-cross-tenant-pull"]);
            assert.ok(!JSON.stringify(values).includes("KUBE-TOKEN-SECRET"), "the kubeconfig leaked into the outputs");
        });
    });

    describe("with credentialDelivery imagePullSecret", () => {
        const PULL: Record<string, string> = {
            ...REQUIRED,
            [`${NS}:credentialDelivery`]: "imagePullSecret",
            [`${NS}:pullSecretNamespaces`]: JSON.stringify(["apps", "jobs"]),
        };

        async function runPullSecret(
            config: Record<string, string>,
            secretKeys: string[] = [],
        ): Promise<{ mocks: RecordingMocks; exports: ProgramExports }> {
            const mocks = await installMocks("prod");
            mocks.withKubernetes(["apps", "jobs"], ["default", "builder"]);
            pulumi.runtime.setAllConfig(config, secretKeys);
            delete require.cache[PROGRAM];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const exports = require(PROGRAM) as ProgramExports;
            await promiseOf(pulumi.all(Object.values(exports)));
            await settle();
            return { mocks, exports };
        }

        it("reaches the cluster through an explicit Kubernetes provider built from the cluster's user credentials", async () => {
            const { mocks, exports } = await runPullSecret(PULL);
            const [provider] = mocks.ofType("pulumi:providers:kubernetes");
            assert.equal(provider.name, "cluster-kubernetes");
            assert.ok(isSecretWrapped(provider.inputs.kubeconfig), "the kubeconfig must reach the provider as a secret");
            assert.equal(unwrapSecret(provider.inputs.kubeconfig), mocks.userKubeconfig);
            assert.equal(
                provider.inputs.clusterIdentifier,
                `/subscriptions/${SUB_A}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod`,
            );
            // Pinned, so PULUMI_K8S_* variables in the environment cannot change what happens to the cluster.
            assert.deepEqual(
                [
                    provider.inputs.enableServerSideApply,
                    provider.inputs.enablePatchForce,
                    provider.inputs.enableSecretMutable,
                    provider.inputs.upsertExistingObjects,
                    provider.inputs.deleteUnreachable,
                    provider.inputs.skipUpdateUnreachable,
                ].map(String),
                ["true", "false", "true", "false", "false", "false"],
            );
            const credentials = mocks.calls.find((call) => call.token.endsWith("listManagedClusterUserCredentials"));
            assert.deepEqual(credentials?.inputs, { resourceGroupName: "rg-aks", resourceName: "aks-prod", format: "exec" });
            assert.ok(credentials?.provider.includes("cluster-tenant-azure-native"));
            assert.ok(!mocks.calls.some((call) => call.token.endsWith("getManagedCluster")), "no service-principal check in this mode");
            assert.equal(mocks.resources.filter((r) => r.type.includes("ClusterCredentialBinding")).length, 0);

            const secrets = mocks.ofType("kubernetes:core/v1:Secret");
            assert.deepEqual(
                secrets.map((secret) => [(secret.inputs.metadata as { namespace: string }).namespace, mocks.providerOf(secret)?.name]),
                [
                    ["apps", "cluster-kubernetes"],
                    ["jobs", "cluster-kubernetes"],
                ],
            );
            assert.equal(mocks.ofType("kubernetes:core/v1:ServiceAccountPatch").length, 0);
            const references = mocks.ofType("pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret");
            assert.deepEqual(
                references.map((reference) => `${String(reference.inputs.namespace)}/${String(reference.inputs.serviceAccount)}`),
                ["apps/default", "jobs/default"],
            );
            // The references write through the same cluster connection: the user credentials read through Azure, held
            // once by their provider.
            const [referenceProvider] = mocks.ofType("pulumi:providers:pulumi-nodejs");
            const referenceKubeconfig = referenceProvider.inputs["aks-acr-cross-tenant:kubeconfig"];
            assert.ok(isSecretWrapped(referenceKubeconfig), "the references' kubeconfig must be a secret");
            assert.equal(unwrapSecret(referenceKubeconfig), mocks.userKubeconfig);
            assert.ok(references.every((reference) => mocks.providerOf(reference) === referenceProvider));
            assert.deepEqual(await promiseOf(exports.pullSecrets), ["apps/acr-cross-tenant-pull", "jobs/acr-cross-tenant-pull"]);
            assert.equal(await promiseOf(pulumi.output(exports.credentialDelivery)), "imagePullSecret");
        });

        it("uses the kubeconfig from the stack config, as a secret, without asking Azure for credentials", async () => {
            // The fake API server the mocks stand up, reached as a CI job's own credentials would reach a cluster.
            const kubeconfig = (await mockCluster()).kubeconfig("KUBE-CONFIG-SECRET");
            const { mocks, exports } = await runPullSecret(
                {
                    ...PULL,
                    [`${NS}:kubeconfig`]: kubeconfig,
                    [`${NS}:pullSecretServiceAccounts`]: JSON.stringify(["default", "builder"]),
                    [`${NS}:pullSecretName`]: "contoso-pull",
                },
                [`${NS}:kubeconfig`],
            );
            const [provider] = mocks.ofType("pulumi:providers:kubernetes");
            assert.ok(isSecretWrapped(provider.inputs.kubeconfig));
            assert.equal(unwrapSecret(provider.inputs.kubeconfig), kubeconfig);
            assert.deepEqual(mocks.calls, []);
            const references = mocks.ofType("pulumi-nodejs:dynamic/aks-acr-cross-tenant:ServiceAccountPullSecret");
            assert.equal(references.length, 4);
            const [referenceProvider] = mocks.ofType("pulumi:providers:pulumi-nodejs");
            assert.equal(unwrapSecret(referenceProvider.inputs["aks-acr-cross-tenant:kubeconfig"]), kubeconfig);
            const values = JSON.stringify(await promiseOf(pulumi.all(exports)));
            assert.ok(!values.includes("KUBE-CONFIG-SECRET"), "the kubeconfig leaked into the outputs");
            assert.deepEqual(await promiseOf(exports.pullSecrets), ["apps/contoso-pull", "jobs/contoso-pull"]);
        });
    });

    it("keeps its rotation anchor in its own state: no reference to itself, and a preview after renewal is due warns", async () => {
        const first = await runProgram(REQUIRED);
        assert.deepEqual(first.mocks.ofType("pulumi:pulumi:StackReference"), [], "the program no longer reads its own outputs");
        const anchor = String(String(await promiseOf(first.exports.secretWindowAnchor)));
        const renewsAfter = String(String(await promiseOf(first.exports.secretRenewsAfter)));
        assert.equal(anchor, new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString());
        assert.equal(Date.parse(renewsAfter) - Date.parse(anchor), 150 * 86_400_000);

        // The same stack later: its state comes along, and the clock is past the renewal date.
        const warnings: string[] = [];
        const log = pulumi.log as { warn: typeof pulumi.log.warn };
        const original = log.warn;
        log.warn = async (message: string) => void warnings.push(message);
        const realNow = Date.now;
        Date.now = () => Date.parse(renewsAfter) + 86_400_000;
        try {
            const later = await runProgram(REQUIRED, [], first.mocks.snapshot());
            assert.equal(String(await promiseOf(later.exports.secretWindowAnchor)), anchor);
            assert.equal(
                String(await promiseOf(later.exports.secretExpiresAt)),
                new Date(Date.parse(renewsAfter) + 180 * 86_400_000).toISOString(),
            );
        } finally {
            Date.now = realNow;
            log.warn = original;
        }
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(warnings[0], new RegExp(`due for renewal since ${renewsAfter.slice(0, 10)}.*pulumi up --stack prod`));
    });

    it("records the anchor of a stack deployed by an earlier version, from secretWindowAnchor", async () => {
        const { exports } = await runProgram({ ...REQUIRED, [`${NS}:secretWindowAnchor`]: "2025-06-01T00:00:00.000Z" });
        const anchor = "2025-06-01T00:00:00.000Z";
        assert.equal(String(await promiseOf(exports.secretWindowAnchor)), anchor);
        const renewsAfter = Date.parse(String(String(await promiseOf(exports.secretRenewsAfter))));
        assert.equal((renewsAfter - Date.parse(anchor)) % (150 * 86_400_000), 0, "renewal must fall on a window boundary");
    });

    for (const [label, config] of [
        ["as configured by default", REQUIRED],
        [
            "with repository limits on an ABAC-mode registry",
            { ...REQUIRED, [`${NS}:registryRepositories`]: JSON.stringify(["contosoimages/team-a/"]) },
        ],
    ] as const) {
        it(`passes its own policy pack ${label}`, async () => {
            const { mocks } = await runProgram(config, [], new Map(), (m) =>
                m.registryModes.set("contosoimages", "AbacRepositoryPermissions"),
            );
            if (label.startsWith("with")) {
                assert.ok(
                    mocks.named("cross-tenant-acr-pull-contosoimages-repository-reader").inputs.condition,
                    "no conditioned assignment was declared",
                );
            }
            const found: string[] = [];
            const report = (message: string): void => void found.push(message);
            for (const resource of mocks.resources) {
                for (const policy of policies) {
                    if ("validateResource" in policy && typeof policy.validateResource === "function") {
                        await policy.validateResource(
                            {
                                type: resource.type,
                                name: resource.name,
                                props: resource.inputs,
                                getConfig: <T>() => ({ maxLifetimeDays: 730 }) as T,
                            } as unknown as ResourceValidationArgs,
                            report,
                        );
                    }
                }
            }
            const asPolicyResource = (resource: Recorded, all: Recorded[]): PolicyResource =>
                ({
                    type: resource.type,
                    name: resource.name,
                    urn: resource.name,
                    props: resource.inputs,
                    provider: mocks.providerOf(resource) && { props: mocks.providerOf(resource)?.inputs },
                    // The registry-tenant principal's only dependency is the application it was made for.
                    dependencies: resource.type.includes("ServicePrincipal")
                        ? all.filter((r) => r.type.includes("application:Application")).map((r) => ({ urn: r.name }))
                        : [],
                }) as unknown as PolicyResource;
            await crossTenantApplicationsAreMultitenant.validateStack(
                { resources: mocks.resources.map((r) => asPolicyResource(r, mocks.resources)) } as unknown as StackValidationArgs,
                report,
            );
            assert.deepEqual(found, []);
            assert.equal(
                mocks.ofType("azuread:index/servicePrincipal:ServicePrincipal").length,
                2,
                "the stack check must have had principals to look at",
            );
        });
    }

    /** Runs the program on `config` and checks that it stops with `check`'s error before declaring anything. */
    async function refusedBeforeAnything(config: Record<string, string>, check: (message: string) => void): Promise<void> {
        const mocks = await installMocks("prod");
        pulumi.runtime.setAllConfig(config, []);
        delete require.cache[PROGRAM];
        assert.throws(
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            () => require(PROGRAM),
            (error: Error) => {
                check(error.message);
                return true;
            },
        );
        await settle();
        assert.deepEqual(mocks.resources, []);
    }

    it("declares nothing, provider included, when the config is bad, and names every bad key", async () => {
        await refusedBeforeAnything({ ...REQUIRED, [`${NS}:clusterName`]: "aks prod", [`${NS}:registryTenantId`]: TENANT_A }, (message) => {
            assert.match(
                message,
                /^Invalid stack configuration for aks-acr-cross-tenant \(stack "prod"\): 2 problems; nothing was deployed/,
            );
            assert.match(message, /clusterName: got "aks prod"/);
            assert.match(message, /registryTenantId: got "aaaaaaaa-.*"; expected a tenant different from clusterTenantId/);
        });
    });

    it("names a key under a misspelling of the project's namespace, which it would ignore, without showing its value", async () => {
        const hidden = "a-value-that-could-be-a-secret";
        const config = { ...REQUIRED, "aks-acr-crosstenant:credentialDelivery": hidden, "azure-native:location": "westeurope" };
        await refusedBeforeAnything(config, (message) => {
            assert.match(
                message,
                /^Invalid stack configuration for aks-acr-cross-tenant \(stack "prod"\): 1 problem; nothing was deployed/,
            );
            assert.match(
                message,
                /aks-acr-crosstenant:credentialDelivery: got a value \(not shown\) under namespace aks-acr-crosstenant, which the program ignores; expected aks-acr-cross-tenant:credentialDelivery/,
            );
            assert.ok(!message.includes(hidden), message);
        });
    });
});
