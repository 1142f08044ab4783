/**
 * The Azure twin's provider plugins (tests/twin/plugins/), driven directly as the engine would drive them, against a
 * fresh two-tenant store per test: the semantics the whole-program tests rely on (a password's value a secret and
 * never logged, every password input forcing a new one, ARM's role-assignment refusals, Entra's refusal of a
 * single-tenant application in another tenant, the AKS and ARM function shapes, explicit tenants), and once through
 * the installed plugin over gRPC, where the SDK's own server would have dropped the provider configuration.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { newGuid, seedCluster, seedDeployer, seedRegistry, TwinStore, type TwinRegistry } from "./twin/store";
import { installTwinPlugins, twinPluginExecutable, twinPlugins } from "./twin/install";
import { APPLICATION, APPLICATION_PASSWORD, azureadProvider, FEDERATED_CREDENTIAL, SERVICE_PRINCIPAL } from "./twin/plugins/azuread";
import {
    azureNativeProvider,
    GET_MANAGED_CLUSTER,
    GET_RESOURCE,
    LIST_USER_CREDENTIALS,
    MANAGED_CLUSTER,
    ROLE_ASSIGNMENT,
} from "./twin/plugins/azureNative";
import { RANDOM_ID, randomProvider } from "./twin/plugins/random";
import type { TwinProvider } from "./twin/plugins/framework";
import { isSecret, makeSecret, reveal, UNKNOWN, type PropertyMap } from "./twin/plugins/values";

const TENANT_A = "a0a0a0a0-0000-4000-8000-00000000000a";
const TENANT_B = "b0b0b0b0-0000-4000-8000-00000000000b";
const SUBSCRIPTION_A = "a1a1a1a1-0000-4000-8000-0000000000a1";
const SUBSCRIPTION_B = "b1b1b1b1-0000-4000-8000-0000000000b1";
const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
const ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec";
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

const urn = (type: string, name: string): string => `urn:pulumi:dev::aks-acr-cross-tenant::${type}::${name}`;
const roleDefinition = (subscriptionId: string, guid: string): string =>
    `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

async function create(provider: TwinProvider, type: string, inputs: PropertyMap, name = "r"): Promise<{ id: string; outs: PropertyMap }> {
    const checked = await provider.check(urn(type, name), {}, inputs);
    assert.deepEqual(checked.failures ?? [], [], `check of ${type} failed`);
    const result = await provider.create(urn(type, name), checked.inputs as PropertyMap);
    return { id: result.id, outs: result.outs as PropertyMap };
}

async function failures(provider: TwinProvider, type: string, inputs: PropertyMap): Promise<string[]> {
    const checked = await provider.check(urn(type, "r"), {}, inputs);
    return (checked.failures ?? []).map((failure) => failure.property);
}

describe("Azure twin provider plugins", function () {
    let dir: string;
    let store: TwinStore;
    let registry: TwinRegistry;
    let clusterId: string;
    let adA: TwinProvider;
    let adB: TwinProvider;
    let armA: TwinProvider;
    let armB: TwinProvider;

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "twin-plugins-"));
        store = TwinStore.create(
            path.join(dir, "store.json"),
            { [TENANT_A]: "Clusters", [TENANT_B]: "Registries" },
            { replicationDelayMs: 60_000 },
        );
        registry = seedRegistry(store, {
            tenantId: TENANT_B,
            subscriptionId: SUBSCRIPTION_B,
            resourceGroupName: "rg-acr",
            name: "images",
            roleAssignmentMode: "AbacRepositoryPermissions",
        });
        clusterId = seedCluster(store, {
            tenantId: TENANT_A,
            subscriptionId: SUBSCRIPTION_A,
            resourceGroupName: "rg-aks",
            name: "aks",
            servicePrincipalProfile: { clientId: "11111111-2222-4333-8444-555555555555", secret: "cluster-secret-text" },
            oidcIssuerProfile: { enabled: true, issuerURL: "https://westeurope.oic.prod-aks.azure.com/a/b/" },
            userKubeconfig: KUBECONFIG,
        }).id;
        adA = azureadProvider({ store });
        adB = azureadProvider({ store });
        armA = azureNativeProvider({ store });
        armB = azureNativeProvider({ store });
        await adA.configure({ tenantId: TENANT_A, environment: "global" });
        await adB.configure({ tenantId: TENANT_B, environment: "global" });
        await armA.configure({ tenantId: TENANT_A, subscriptionId: SUBSCRIPTION_A, environment: "public" });
        await armB.configure({ tenantId: TENANT_B, subscriptionId: SUBSCRIPTION_B, environment: "public" });
    });

    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A multitenant (or not) application in tenant A and its service principal in `tenant`'s provider. */
    async function application(signInAudience = "AzureADMultipleOrgs"): Promise<{ id: string; clientId: string; objectId: string }> {
        const { id, outs } = await create(adA, APPLICATION, { displayName: "pull", signInAudience, tags: ["a"] });
        return { id, clientId: outs.clientId as string, objectId: outs.objectId as string };
    }

    async function principal(provider: TwinProvider, clientId: string): Promise<string> {
        return (await create(provider, SERVICE_PRINCIPAL, { clientId })).outs.objectId as string;
    }

    function assignment(principalId: string, extra: PropertyMap = {}): PropertyMap {
        return {
            scope: registry.id,
            roleDefinitionId: roleDefinition(SUBSCRIPTION_B, ACR_PULL),
            principalId,
            principalType: "ServicePrincipal",
            ...extra,
        };
    }

    it("refuses a provider without a tenant id, or with a tenant the twin does not know", async () => {
        const unconfigured = azureadProvider({ store });
        const checked = await unconfigured.checkConfig(urn("pulumi:providers:azuread", "p"), {}, { environment: "global" });
        assert.deepEqual(
            (checked.failures ?? []).map((f) => f.property),
            ["tenantId"],
        );
        await assert.rejects(unconfigured.configure({ environment: "global" }), /no tenantId/);
        await assert.rejects(unconfigured.create(urn(APPLICATION, "x"), { displayName: "x" }), /not configured/);
        await assert.rejects(
            azureNativeProvider({ store }).configure({ tenantId: newGuid(), subscriptionId: SUBSCRIPTION_A }),
            /AADSTS90002/,
        );
        // A tenant unknown only in a preview passes CheckConfig.
        assert.deepEqual((await unconfigured.checkConfig(urn("pulumi:providers:azuread", "p"), {}, { tenantId: UNKNOWN })).failures, []);
        assert.equal(store.log(/application/).length, 0);
    });

    it("signs in with the configured client id and secret as Entra would", async () => {
        const deployer = seedDeployer(store, TENANT_A, "deployer");
        const signIn = (tenantId: string, clientId: string, secret: string) =>
            azureadProvider({ store }).configure({ tenantId, clientId: makeSecret(clientId), clientSecret: makeSecret(secret) });
        await assert.rejects(signIn(TENANT_A, deployer.clientId, "not-the-secret"), /AADSTS7000215/);
        await assert.rejects(signIn(TENANT_B, deployer.clientId, deployer.secret), /AADSTS700016/);
        await assert.rejects(signIn(TENANT_A, newGuid(), deployer.secret), /AADSTS700016/);
        await signIn(TENANT_A, deployer.clientId, deployer.secret);
        // The engine's Variables spell keys `<package>:config:<key>`.
        await azureNativeProvider({ store }).configure({
            "azure-native:config:tenantId": TENANT_A,
            "azure-native:config:subscriptionId": SUBSCRIPTION_A,
        });
    });

    it("rejects inputs the real schemas reject, naming each property", async () => {
        assert.deepEqual(await failures(adA, APPLICATION, {}), ["displayName"]);
        assert.deepEqual(await failures(adA, APPLICATION, { displayName: "x", signInAudience: "Everyone" }), ["signInAudience"]);
        assert.deepEqual(await failures(adA, APPLICATION, { displayName: UNKNOWN }), []);
        assert.deepEqual(await failures(adA, SERVICE_PRINCIPAL, { clientId: "not-a-guid" }), ["clientId"]);
        assert.deepEqual(await failures(adA, APPLICATION_PASSWORD, { endDate: "next year" }), ["applicationId", "endDate"]);
        assert.deepEqual(await failures(adA, APPLICATION_PASSWORD, { applicationId: "abc" }), ["applicationId"]);
        assert.deepEqual(
            await failures(adA, FEDERATED_CREDENTIAL, { applicationId: `/applications/${newGuid()}`, audiences: ["a", "b"] }),
            ["displayName", "issuer", "subject", "audiences"],
        );
        const roleChecked = await armB.check(urn(ROLE_ASSIGNMENT, "r"), {}, { scope: registry.id });
        assert.deepEqual(
            (roleChecked.failures ?? []).map((f) => [f.property, f.reason]),
            [
                ["principalId", "missing required property 'principalId'"],
                ["roleDefinitionId", "missing required property 'roleDefinitionId'"],
            ],
        );
        assert.deepEqual(await failures(armA, MANAGED_CLUSTER, { dnsPrefix: "x" }), ["resourceGroupName"]);
        assert.deepEqual(await failures(randomProvider(), RANDOM_ID, {}), ["byteLength"]);
    });

    it("returns a password's value as a secret, never logs it, and replaces the password on any input change", async () => {
        const app = await application();
        const inputs = {
            applicationId: app.id,
            displayName: "aks-acr-pull 2025-01-01",
            endDate: new Date(Date.now() + 90 * 86_400_000).toISOString(),
        };
        const { id, outs } = await create(adA, APPLICATION_PASSWORD, inputs);
        assert.ok(isSecret(outs.value), "value must come back wrapped as a secret");
        const value = reveal(outs.value) as string;
        assert.match(value, /^.{3}\dQ~.{34}$/);
        assert.equal(id, `${app.objectId}/password/${outs.keyId as string}`);
        assert.equal(store.read().passwords[outs.keyId as string]?.value, value);
        assert.deepEqual(
            store.log(/password/).map((e) => [e.face, e.action, e.detail?.keyId]),
            [["azuread", "create password", outs.keyId]],
        );

        for (const [key, changed] of Object.entries({
            displayName: "other",
            endDate: new Date(Date.now() + 91 * 86_400_000).toISOString(),
            startDate: new Date().toISOString(),
        })) {
            const diff = await adA.diff(id, urn(APPLICATION_PASSWORD, "r"), outs, { ...inputs, [key]: changed }, inputs);
            assert.deepEqual(diff.replaces, [key], `a changed ${key} must replace the password`);
        }
        const same = await adA.diff(id, urn(APPLICATION_PASSWORD, "r"), outs, inputs, inputs);
        assert.equal(same.changes, false);

        // A refresh keeps the value from the state: Graph never shows it again.
        const read = await adA.read(id, urn(APPLICATION_PASSWORD, "r"), outs);
        assert.ok(isSecret((read.props as PropertyMap).value));
        await adA.delete(id, urn(APPLICATION_PASSWORD, "r"), outs);
        assert.equal(store.read().passwords[outs.keyId as string], undefined);
        assert.deepEqual(
            store.log(/password/).map((e) => e.action),
            ["create password", "delete password"],
        );
        assert.ok(!JSON.stringify(store.log()).includes(value), "the log holds no secret");
    });

    it("refuses a password whose end date is already past on the twin's clock", async () => {
        const app = await application();
        store.mutate((state) => {
            state.clockOffsetMs = 30 * 86_400_000;
        });
        const endDate = new Date(Date.now() + 10 * 86_400_000).toISOString();
        await assert.rejects(
            adA.create(urn(APPLICATION_PASSWORD, "r"), { applicationId: app.id, endDate }),
            /Request_BadRequest.*in the past/,
        );
        assert.equal(Object.keys(store.read().passwords).length, 0);
    });

    it("provisions a multitenant application in the other tenant, but not a single-tenant one", async () => {
        const single = await application("AzureADMyOrg");
        await assert.rejects(
            adB.create(urn(SERVICE_PRINCIPAL, "r"), { clientId: single.clientId }),
            /unexpected status 400 .*Request_BadRequest: The appId '.*' of the service principal does not reference a valid application object/,
        );
        await principal(adA, single.clientId);
        const multi = await application();
        const objectId = await principal(adB, multi.clientId);
        assert.equal(store.read().servicePrincipals[objectId]?.tenantId, TENANT_B);
        assert.deepEqual(
            store.log(/service principal/).map((e) => e.detail?.tenantId),
            [TENANT_A, TENANT_B],
        );
    });

    it("answers RoleAssignmentExists for the same principal, role and scope under another name", async () => {
        const app = await application();
        const principalId = await principal(adB, app.clientId);
        const first = await create(armB, ROLE_ASSIGNMENT, assignment(principalId));
        assert.match(first.id, new RegExp(`^${registry.id}/providers/Microsoft.Authorization/roleAssignments/[0-9a-f-]{36}$`));
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "again"), { ...assignment(principalId), roleAssignmentName: newGuid() }),
            /RESPONSE 409: 409 Conflict\nERROR CODE: RoleAssignmentExists[\s\S]*The role assignment already exists/,
        );
        // Another role at the same scope is another assignment.
        await create(
            armB,
            ROLE_ASSIGNMENT,
            assignment(principalId, { roleDefinitionId: roleDefinition(SUBSCRIPTION_B, ACR_PUSH) }),
            "push",
        );
        assert.equal(Object.keys(store.read().roleAssignments).length, 2);
    });

    it("answers PrincipalNotFound for a principal still replicating, unless principalType is given", async () => {
        const app = await application();
        const principalId = await principal(adB, app.clientId);
        const { principalType: _type, ...untyped } = assignment(principalId);
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "r"), { ...untyped, roleAssignmentName: newGuid() }),
            /PrincipalNotFound[\s\S]*replication delay/,
        );
        await create(armB, ROLE_ASSIGNMENT, assignment(principalId));
        // A principal of the other tenant is never found.
        const foreign = await principal(adA, app.clientId);
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "f"), { ...assignment(foreign), roleAssignmentName: newGuid() }),
            /PrincipalNotFound/,
        );
    });

    it("refuses the SDK's default principalType User for a replicated service principal", async () => {
        const app = await application();
        const principalId = await principal(adB, app.clientId);
        store.mutate((state) => {
            state.servicePrincipals[principalId] = { ...state.servicePrincipals[principalId], createdAt: new Date(0).toISOString() };
        });
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "r"), {
                ...assignment(principalId, { principalType: "User" }),
                roleAssignmentName: newGuid(),
            }),
            /UnmatchedPrincipalType[\s\S]*has type 'ServicePrincipal'/,
        );
    });

    it("refuses a role assignment at a scope of the other tenant", async () => {
        const app = await application();
        const principalId = await principal(adB, app.clientId);
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "r"), { ...assignment(principalId, { scope: clusterId }), roleAssignmentName: newGuid() }),
            /RESPONSE 401[\s\S]*InvalidAuthenticationTokenTenant/,
        );
        await assert.rejects(
            armB.create(urn(ROLE_ASSIGNMENT, "r"), {
                ...assignment(principalId, { scope: `${registry.id}x` }),
                roleAssignmentName: newGuid(),
            }),
            /ResourceNotFound/,
        );
        assert.deepEqual(store.read().roleAssignments, {});
    });

    it("replaces a role assignment for a new principal or scope, and lets ARM refuse a changed role in place", async () => {
        const app = await application();
        const principalId = await principal(adB, app.clientId);
        const inputs = (await armB.check(urn(ROLE_ASSIGNMENT, "r"), {}, assignment(principalId))).inputs as PropertyMap;
        const rechecked = (await armB.check(urn(ROLE_ASSIGNMENT, "r"), inputs, assignment(principalId))).inputs as PropertyMap;
        assert.equal(rechecked.roleAssignmentName, inputs.roleAssignmentName, "the generated name is kept from the old inputs");
        const created = await armB.create(urn(ROLE_ASSIGNMENT, "r"), inputs);
        const id = created.id;
        const outs = created.outs as PropertyMap;
        const diff = (news: PropertyMap) => armB.diff(id, urn(ROLE_ASSIGNMENT, "r"), outs, { ...inputs, ...news }, inputs);
        assert.deepEqual((await diff({ principalId: newGuid() })).replaces, ["principalId"]);
        assert.deepEqual((await diff({ scope: `${registry.id}2` })).replaces, ["scope"]);
        const described = await diff({ description: "pull" });
        assert.deepEqual([described.changes, described.replaces], [true, []]);
        const role = await diff({ roleDefinitionId: roleDefinition(SUBSCRIPTION_B, ACR_PUSH) });
        assert.deepEqual([role.changes, role.replaces], [true, []]);
        await assert.rejects(
            armB.update(id, urn(ROLE_ASSIGNMENT, "r"), outs, { ...inputs, roleDefinitionId: roleDefinition(SUBSCRIPTION_B, ACR_PUSH) }),
            /RoleAssignmentUpdateNotPermitted/,
        );
        await armB.update(id, urn(ROLE_ASSIGNMENT, "r"), outs, { ...inputs, description: "pull" });
        assert.equal(Object.values(store.read().roleAssignments)[0]?.description, "pull");
    });

    it("answers getManagedCluster as ARM shapes it, in the provider's own subscription and tenant only", async () => {
        const found = (await armA.invoke(GET_MANAGED_CLUSTER, { resourceGroupName: "rg-aks", resourceName: "aks" })).outputs as PropertyMap;
        assert.equal(found.id, clusterId);
        assert.deepEqual(found.servicePrincipalProfile, { clientId: "11111111-2222-4333-8444-555555555555" });
        assert.deepEqual(found.oidcIssuerProfile, { enabled: true, issuerURL: "https://westeurope.oic.prod-aks.azure.com/a/b/" });
        assert.ok(!JSON.stringify(found).includes("cluster-secret-text"));
        await assert.rejects(
            armA.invoke(GET_MANAGED_CLUSTER, { resourceGroupName: "rg-aks", resourceName: "other" }),
            /RESPONSE 404[\s\S]*ResourceNotFound/,
        );
        await assert.rejects(
            armB.invoke(GET_MANAGED_CLUSTER, { resourceGroupName: "rg-aks", resourceName: "aks" }),
            /ResourceGroupNotFound/,
        );
        const wrongTenant = azureNativeProvider({ store });
        await wrongTenant.configure({ tenantId: TENANT_B, subscriptionId: SUBSCRIPTION_A });
        await assert.rejects(
            wrongTenant.invoke(GET_MANAGED_CLUSTER, { resourceGroupName: "rg-aks", resourceName: "aks" }),
            /InvalidAuthenticationTokenTenant/,
        );
    });

    it("answers listManagedClusterUserCredentials with the cluster's user kubeconfig, base64", async () => {
        const result = (await armA.invoke(LIST_USER_CREDENTIALS, { resourceGroupName: "rg-aks", resourceName: "aks", format: "exec" }))
            .outputs as {
            kubeconfigs: { name: string; value: string }[];
        };
        assert.deepEqual(
            result.kubeconfigs.map((k) => [k.name, Buffer.from(k.value, "base64").toString("utf8")]),
            [["clusterUser", KUBECONFIG]],
        );
    });

    it("answers getResource for a registry with its role-assignment mode and login server", async () => {
        const args = {
            apiVersion: "2025-11-01",
            resourceProviderNamespace: "Microsoft.ContainerRegistry",
            parentResourcePath: "",
            resourceType: "registries",
            resourceGroupName: "rg-acr",
            resourceName: "images",
        };
        const found = (await armB.invoke(GET_RESOURCE, args)).outputs as { id: string; type: string; properties: PropertyMap };
        assert.deepEqual([found.id, found.type], [registry.id, "Microsoft.ContainerRegistry/registries"]);
        assert.deepEqual(
            [found.properties.roleAssignmentMode, found.properties.loginServer],
            ["AbacRepositoryPermissions", "images.azurecr.io"],
        );
        await assert.rejects(
            armA.invoke(GET_RESOURCE, { ...args }),
            /InvalidAuthenticationTokenTenant|SubscriptionNotFound|ResourceGroupNotFound/,
        );
        const { apiVersion: _v, ...noVersion } = args;
        await assert.rejects(armB.invoke(GET_RESOURCE, noVersion), /MissingApiVersionParameter/);
    });

    it("reads an application by id with empty state, as Application.get does, in its home tenant only", async () => {
        const app = await application();
        const read = await adA.read(app.id, urn(APPLICATION, "deployed"), {});
        assert.equal(read.id, app.id);
        assert.deepEqual([(read.props as PropertyMap).clientId, (read.props as PropertyMap).tags], [app.clientId, ["a"]]);
        assert.equal((await adB.read(app.id, urn(APPLICATION, "deployed"), {})).id, "");
    });

    it("creates a cluster with a service principal profile, and refuses a changed profile on PUT", async () => {
        const app = await application();
        const spId = await principal(adA, app.clientId);
        store.mutate((state) => {
            state.servicePrincipals[spId] = { ...state.servicePrincipals[spId], createdAt: new Date(0).toISOString() };
        });
        const password = await create(adA, APPLICATION_PASSWORD, { applicationId: app.id });
        const profile = makeSecret({ clientId: app.clientId, secret: reveal(password.outs.value) });
        const inputs = { resourceGroupName: "rg-own", resourceName: "owned", dnsPrefix: "owned", servicePrincipalProfile: profile };
        await assert.rejects(
            armA.create(urn(MANAGED_CLUSTER, "aks"), {
                ...inputs,
                servicePrincipalProfile: makeSecret({ clientId: app.clientId, secret: "wrong" }),
            }),
            /The credentials in ServicePrincipalProfile were invalid/,
        );
        const { id, outs } = await create(armA, MANAGED_CLUSTER, inputs, "aks");
        assert.deepEqual(outs.servicePrincipalProfile, { clientId: app.clientId });
        assert.equal(store.read().clusters[id.toLowerCase()]?.tenantId, TENANT_A);
        await assert.rejects(
            armA.update(id, urn(MANAGED_CLUSTER, "aks"), outs, {
                ...inputs,
                location: "westeurope",
                servicePrincipalProfile: makeSecret({ clientId: app.clientId, secret: "rotated" }),
            }),
            /PropertyChangeNotAllowed/,
        );
        const diff = await armA.diff(
            id,
            urn(MANAGED_CLUSTER, "aks"),
            outs,
            { ...inputs, location: "westeurope", dnsPrefix: "other" },
            { ...inputs, location: "westeurope" },
        );
        assert.deepEqual(diff.replaces, ["dnsPrefix"]);
    });

    it("makes a random id whose forms agree, replaced when its keepers change", async () => {
        const random = randomProvider();
        const { id, outs } = await create(random, RANDOM_ID, { byteLength: 4, keepers: { firstSecretDay: "2025-01-01" } });
        assert.equal(outs.hex, Buffer.from(id, "base64url").toString("hex"));
        assert.equal(outs.dec, BigInt(`0x${outs.hex}`).toString());
        const old = { byteLength: 4, keepers: { firstSecretDay: "2025-01-01" } };
        assert.deepEqual(
            (await random.diff(id, urn(RANDOM_ID, "r"), outs, { ...old, keepers: { firstSecretDay: "2025-02-01" } }, old)).replaces,
            ["keepers"],
        );
        assert.equal((await random.diff(id, urn(RANDOM_ID, "r"), outs, old, old)).changes, false);
    });

    describe("installed, over gRPC", function () {
        let child: ChildProcess | undefined;
        afterEach(() => {
            if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid);
        });

        it("is found where the engine looks and takes its configuration from Configure", async () => {
            const home = path.join(dir, ".pulumi");
            installTwinPlugins(home);
            for (const spec of twinPlugins()) {
                const executable = twinPluginExecutable(home, spec);
                assert.equal(fs.statSync(executable).mode & 0o755, 0o755);
                assert.ok(fs.readFileSync(executable, "utf8").includes(spec.script));
            }
            assert.deepEqual(
                twinPlugins().map((p) => [p.name, p.version]),
                [
                    ["azuread", "6.9.1"],
                    ["azure-native", "3.28.0"],
                    ["random", "4.21.2"],
                ],
            );
            const spec = twinPlugins()[0];
            child = spawn(twinPluginExecutable(home, spec), [], {
                env: { ...process.env, AZURE_TWIN_STORE: store.file },
                stdio: ["ignore", "pipe", "inherit"],
            });
            const port = await new Promise<string>((resolve, reject) => {
                child!.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8").trim()));
                child!.once("exit", (code) => reject(new Error(`the plugin exited with ${code}`)));
            });
            const rpc = grpcClient(`127.0.0.1:${port}`);
            assert.equal(await rpc.version(), "6.9.1");
            assert.deepEqual(await rpc.checkConfig({ version: "6.9.1" }), ["tenantId"]);
            await assert.rejects(rpc.configure({ tenantId: newGuid() }), /AADSTS90002/);
            await rpc.configure({ "azuread:config:tenantId": TENANT_B });
            const id = await rpc.create(urn(APPLICATION, "grpc"), { displayName: "over-grpc" });
            assert.equal(store.read().applications[id.replace("/applications/", "")]?.homeTenantId, TENANT_B);
            // The old inputs, not the old outputs, are compared (the SDK's server would drop them and name no diffs).
            const diff = await rpc.diff(
                id,
                urn(APPLICATION, "grpc"),
                { displayName: "x", templateId: newGuid() },
                { displayName: "x", templateId: newGuid() },
            );
            assert.deepEqual(diff, { changes: 2, diffs: ["templateId"], replaces: ["templateId"] });
            rpc.close();
        });
    });
});

/** A minimal client of the plugin's gRPC service, built from the SDK's own generated code. */
function grpcClient(address: string) {
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    /* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
    const grpc: any = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
    const { Struct }: any = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] }));
    const { Empty }: any = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [pulumiDir] }));
    const proto: any = require("@pulumi/pulumi/proto/provider_pb");
    const services: any = require("@pulumi/pulumi/proto/provider_grpc_pb");
    const client: any = new services.ResourceProviderClient(address, grpc.credentials.createInsecure());
    const call = (method: string, request: unknown): Promise<any> =>
        new Promise((resolve, reject) =>
            client[method](request, (error: Error | null, response: any) => (error ? reject(error) : resolve(response))),
        );
    return {
        version: async (): Promise<string> => (await call("getPluginInfo", new Empty())).getVersion(),
        checkConfig: async (news: PropertyMap): Promise<string[]> => {
            const request = new proto.CheckRequest();
            request.setUrn(urn("pulumi:providers:azuread", "p"));
            request.setNews(Struct.fromJavaScript(news));
            request.setOlds(Struct.fromJavaScript({}));
            return (await call("checkConfig", request)).getFailuresList().map((f: any) => f.getProperty());
        },
        configure: async (args: PropertyMap): Promise<void> => {
            const request = new proto.ConfigureRequest();
            request.setArgs(Struct.fromJavaScript(args));
            await call("configure", request);
        },
        create: async (resourceUrn: string, properties: PropertyMap): Promise<string> => {
            const request = new proto.CreateRequest();
            request.setUrn(resourceUrn);
            request.setProperties(Struct.fromJavaScript(properties));
            return (await call("create", request)).getId();
        },
        diff: async (
            id: string,
            resourceUrn: string,
            oldInputs: PropertyMap,
            news: PropertyMap,
        ): Promise<{ changes: number; diffs: string[]; replaces: string[] }> => {
            const request = new proto.DiffRequest();
            request.setId(id);
            request.setUrn(resourceUrn);
            request.setOlds(Struct.fromJavaScript({ ...oldInputs, displayName: "as Graph returned it", clientId: "computed" }));
            request.setOldInputs(Struct.fromJavaScript(oldInputs));
            request.setNews(Struct.fromJavaScript(news));
            const response = await call("diff", request);
            return { changes: response.getChanges(), diffs: response.getDiffsList(), replaces: response.getReplacesList() };
        },
        close: (): void => client.close(),
    };
    /* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any */
}
