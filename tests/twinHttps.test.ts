/**
 * The Azure twin's HTTPS face (tests/twin/https.ts) driven by the real Azure SDKs in a child process that knows only
 * `HTTPS_PROXY`, `NO_PROXY` and `NODE_EXTRA_CA_CERTS`, as the whole program will: Entra's client-secret and federated
 * sign-in, ARM's managed-cluster read and service-principal reset, and the proxy's refusals. The assertions are on
 * what the twin's store holds afterwards and on what the face recorded.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createTestCa } from "./twin/ca";
import { startTwinFace, type TwinFace } from "./twin/https";
import type { SdkResult, SdkStep, SignIn } from "./twin/sdkClient";
import { newGuid, seedCluster, seedDeployer, seedRegistry, TwinStore, type TwinCluster } from "./twin/store";

const TENANT_A = "a0a0a0a0-0000-4000-8000-00000000000a";
const TENANT_B = "b0b0b0b0-0000-4000-8000-00000000000b";
const UNKNOWN_TENANT = "c0c0c0c0-0000-4000-8000-00000000000c";
const SUB_A = "a1a1a1a1-0000-4000-8000-0000000000a1";
const SUB_B = "b1b1b1b1-0000-4000-8000-0000000000b1";
const RG = "rg-aks";
const ARM_SCOPE = "https://management.azure.com/.default";
const EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
const SUBJECT = "system:serviceaccount:pull:acr-pull";
const DAY = 86_400_000;

interface App {
    readonly clientId: string;
    readonly secret: string;
    /** Service principal object ids by tenant. */
    readonly principals: Record<string, string>;
}

/** Writes an application, an optional password and its service principals, as the azuread plugin would. */
function addApp(
    store: TwinStore,
    app: {
        readonly home: string;
        readonly multitenant: boolean;
        readonly passwordEnds?: number;
        readonly principalsIn: readonly string[];
        /** Service principals created now: unknown until the store's replication delay has passed. */
        readonly fresh?: boolean;
        readonly federated?: { readonly issuer: string; readonly subject: string };
    },
): App {
    return store.mutate((state) => {
        const now = new Date();
        const objectId = newGuid();
        const clientId = newGuid();
        state.applications[objectId] = {
            objectId,
            clientId,
            homeTenantId: app.home,
            displayName: `app-${clientId.slice(0, 8)}`,
            signInAudience: app.multitenant ? "AzureADMultipleOrgs" : "AzureADMyOrg",
            owners: [],
            redirectUris: [],
            tags: [],
            createdAt: now.toISOString(),
        };
        const secret = `secret~${randomUUID()}`;
        if (app.passwordEnds !== undefined) {
            const keyId = newGuid();
            state.passwords[keyId] = {
                keyId,
                applicationObjectId: objectId,
                displayName: "test",
                startDate: new Date(now.getTime() - 60 * DAY).toISOString(),
                endDate: new Date(app.passwordEnds).toISOString(),
                value: secret,
                createdAt: new Date(now.getTime() - 60 * DAY).toISOString(),
            };
        }
        const principals: Record<string, string> = {};
        for (const tenantId of app.principalsIn) {
            const sp = { objectId: newGuid(), clientId, tenantId, createdAt: app.fresh ? now.toISOString() : new Date(0).toISOString() };
            state.servicePrincipals[sp.objectId] = sp;
            principals[tenantId] = sp.objectId;
        }
        if (app.federated !== undefined) {
            const credentialId = newGuid();
            state.federatedCredentials[credentialId] = {
                credentialId,
                applicationObjectId: objectId,
                displayName: "pull",
                issuer: app.federated.issuer,
                subject: app.federated.subject,
                audiences: [EXCHANGE_AUDIENCE],
            };
        }
        return { clientId, secret, principals };
    });
}

/** A service-account token as the Kubernetes API server signs it. */
function serviceAccountToken(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: "RS256", kid })).toString("base64url");
    const payload = Buffer.from(JSON.stringify({ aud: [EXCHANGE_AUDIENCE], iat: now, nbf: now, exp: now + 600, ...claims })).toString(
        "base64url",
    );
    return `${header}.${payload}.${sign("RSA-SHA256", Buffer.from(`${header}.${payload}`), key).toString("base64url")}`;
}

function listen(server: https.Server): Promise<string> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`));
    });
}

/** Runs the steps in one child process with only the face's environment added. */
function runSdk(face: TwinFace, steps: readonly SdkStep[]): Promise<SdkResult[]> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...face.env() };
    for (const name of ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "ALL_PROXY", "HTTP_PROXY"]) {
        delete env[name];
    }
    return new Promise((resolve, reject) => {
        const child = execFile(
            process.execPath,
            [path.join(__dirname, "twin", "sdkClient.js")],
            { env, timeout: 30_000 },
            (error, stdout, stderr) => {
                if (error) return reject(new Error(`sdkClient failed: ${error.message}\n${stderr}`));
                resolve(JSON.parse(stdout) as SdkResult[]);
            },
        );
        child.stdin!.end(JSON.stringify(steps));
    });
}

function failure(result: SdkResult | undefined): { name: string; message: string; code?: string; statusCode?: number } {
    assert.ok(result !== undefined && !result.ok, `expected a failure, got ${JSON.stringify(result)}`);
    return result.error;
}

function value<T>(result: SdkResult | undefined): T {
    assert.ok(result !== undefined && result.ok, `expected success, got ${JSON.stringify(result)}`);
    return result.value as T;
}

describe("Azure twin HTTPS face (real SDKs through HTTPS_PROXY)", function () {
    this.timeout(30_000);

    let dir: string;
    let store: TwinStore;
    let face: TwinFace;
    let issuerServer: https.Server;
    let loopbackServer: https.Server;
    let results: SdkResult[];
    const named = new Map<string, SdkResult>();

    let deployerA: { clientId: string; secret: string };
    let deployerB: { clientId: string; secret: string };
    let pull: App;
    let stale: App;
    let fresh: App;
    let federated: App;
    let spCluster: TwinCluster;
    let msiCluster: TwinCluster;
    let issuer: string;
    let loopback: string;

    before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "twin-https-"));
        // Long enough that a service principal created during the test never replicates.
        store = TwinStore.create(
            path.join(dir, "store.json"),
            { [TENANT_A]: "Contoso clusters", [TENANT_B]: "Fabrikam registries" },
            { replicationDelayMs: 600_000 },
        );
        deployerA = seedDeployer(store, TENANT_A, "deployer-a");
        deployerB = seedDeployer(store, TENANT_B, "deployer-b");
        seedRegistry(store, { tenantId: TENANT_B, subscriptionId: SUB_B, resourceGroupName: "rg-acr", name: "fabrikamimages" });

        // The federated issuer: a stand-in for the Kubernetes API server, on loopback with its own CA.
        const issuerCa = createTestCa(path.join(dir, "issuer-ca"));
        const issuerLeaf = await issuerCa.leaf("127.0.0.1");
        const signing = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const kid = "sa-key-1";
        issuerServer = https.createServer(issuerLeaf, (req, res) => {
            const body =
                req.url === "/.well-known/openid-configuration"
                    ? { issuer, jwks_uri: `${issuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: ["RS256"] }
                    : req.url === "/openid/v1/jwks"
                      ? { keys: [{ ...signing.publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" }] }
                      : undefined;
            res.writeHead(body ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(body ?? {}));
        });
        issuer = await listen(issuerServer);

        pull = addApp(store, {
            home: TENANT_A,
            multitenant: true,
            passwordEnds: Date.now() + 30 * DAY,
            principalsIn: [TENANT_A, TENANT_B],
        });
        stale = addApp(store, { home: TENANT_A, multitenant: true, passwordEnds: Date.now() - DAY, principalsIn: [TENANT_A] });
        fresh = addApp(store, {
            home: TENANT_A,
            multitenant: true,
            passwordEnds: Date.now() + 30 * DAY,
            principalsIn: [TENANT_A],
            fresh: true,
        });
        federated = addApp(store, {
            home: TENANT_B,
            multitenant: true,
            principalsIn: [TENANT_B, TENANT_A],
            federated: { issuer, subject: SUBJECT },
        });
        spCluster = seedCluster(store, {
            tenantId: TENANT_A,
            subscriptionId: SUB_A,
            resourceGroupName: RG,
            name: "aks-sp",
            servicePrincipalProfile: { clientId: deployerA.clientId, secret: deployerA.secret },
        });
        msiCluster = seedCluster(store, {
            tenantId: TENANT_A,
            subscriptionId: SUB_A,
            resourceGroupName: RG,
            name: "aks-msi",
            servicePrincipalProfile: { clientId: "msi" },
            identity: { type: "SystemAssigned" },
            oidcIssuerProfile: { enabled: true, issuerURL: issuer },
        });

        face = await startTwinFace({ store, dir: path.join(dir, "face"), kubernetesCa: issuerCa.caPem });
        // A loopback server the child trusts (the face's CA): reached directly only if NO_PROXY works.
        loopbackServer = https.createServer(await face.ca.leaf("127.0.0.1"), (_req, res) => res.end("direct"));
        loopback = await listen(loopbackServer);

        const as = (credentials: { clientId: string; secret: string }, tenantId = TENANT_A): SignIn => ({ tenantId, ...credentials });
        const cluster = (name: string) => ({ subscriptionId: SUB_A, resourceGroupName: RG, clusterName: name });
        const assertion = (claims: Record<string, unknown>, key: KeyObject = signing.privateKey) =>
            serviceAccountToken(key, kid, { iss: issuer, sub: SUBJECT, ...claims });
        const steps: [string, SdkStep][] = [
            ["get before", { kind: "getCluster", as: as(deployerA), ...cluster("aks-sp") }],
            ["reset", { kind: "resetCluster", as: as(deployerA), ...cluster("aks-sp"), clientId: pull.clientId, secret: pull.secret }],
            ["get after", { kind: "getCluster", as: as(deployerA), ...cluster("aks-sp") }],
            [
                "reset expired",
                { kind: "resetCluster", as: as(deployerA), ...cluster("aks-sp"), clientId: stale.clientId, secret: stale.secret },
            ],
            [
                "reset wrong secret",
                { kind: "resetCluster", as: as(deployerA), ...cluster("aks-sp"), clientId: pull.clientId, secret: stale.secret },
            ],
            [
                "reset unreplicated",
                { kind: "resetCluster", as: as(deployerA), ...cluster("aks-sp"), clientId: fresh.clientId, secret: fresh.secret },
            ],
            ["reset msi", { kind: "resetCluster", as: as(deployerA), ...cluster("aks-msi"), clientId: pull.clientId, secret: pull.secret }],
            ["get msi", { kind: "getCluster", as: as(deployerA), ...cluster("aks-msi") }],
            ["get missing", { kind: "getCluster", as: as(deployerA), ...cluster("aks-none") }],
            ["get wrong tenant", { kind: "getCluster", as: as(deployerB, TENANT_B), ...cluster("aks-sp") }],
            ["user credential", { kind: "userCredential", as: as(deployerA), ...cluster("aks-sp") }],
            ["token pull in B", { kind: "token", as: as(pull, TENANT_B), scope: ARM_SCOPE }],
            ["token wrong secret", { kind: "token", as: { ...as(deployerA), secret: pull.secret }, scope: ARM_SCOPE }],
            ["token expired", { kind: "token", as: as(stale), scope: ARM_SCOPE }],
            ["token unknown tenant", { kind: "token", as: as(pull, UNKNOWN_TENANT), scope: ARM_SCOPE }],
            ["token single-tenant abroad", { kind: "token", as: as(deployerB, TENANT_A), scope: ARM_SCOPE }],
            ["token no principal", { kind: "token", as: as(stale, TENANT_B), scope: ARM_SCOPE }],
            [
                "federated",
                { kind: "token", as: { tenantId: TENANT_A, clientId: federated.clientId, assertion: assertion({}) }, scope: ARM_SCOPE },
            ],
            [
                "federated wrong subject",
                {
                    kind: "token",
                    as: {
                        tenantId: TENANT_A,
                        clientId: federated.clientId,
                        assertion: assertion({ sub: "system:serviceaccount:pull:other" }),
                    },
                    scope: ARM_SCOPE,
                },
            ],
            [
                "federated wrong issuer",
                {
                    kind: "token",
                    as: { tenantId: TENANT_A, clientId: federated.clientId, assertion: assertion({ iss: `${issuer}/other` }) },
                    scope: ARM_SCOPE,
                },
            ],
            [
                "federated forged",
                {
                    kind: "token",
                    as: {
                        tenantId: TENANT_B,
                        clientId: federated.clientId,
                        assertion: assertion({}, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey),
                    },
                    scope: ARM_SCOPE,
                },
            ],
            ["openid", { kind: "fetch", url: `https://login.microsoftonline.com/${TENANT_A}/v2.0/.well-known/openid-configuration` }],
            [
                "openid unknown tenant",
                { kind: "fetch", url: `https://login.microsoftonline.com/${UNKNOWN_TENANT}/v2.0/.well-known/openid-configuration` },
            ],
            [
                "instance discovery",
                {
                    kind: "fetch",
                    url: `https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`https://login.microsoftonline.com/${TENANT_A}/oauth2/v2.0/authorize`)}`,
                },
            ],
            [
                "arm without token",
                {
                    kind: "fetch",
                    url: `https://management.azure.com/subscriptions/${SUB_A}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/aks-sp?api-version=2026-06-01`,
                },
            ],
            ["outside host", { kind: "fetch", url: "https://example.com/" }],
            ["unknown registry", { kind: "fetch", url: "https://nosuchregistry.azurecr.io/v2/" }],
            ["registry", { kind: "fetch", url: "https://fabrikamimages.azurecr.io/v2/" }],
            ["loopback", { kind: "fetch", url: `${loopback}/` }],
        ];
        results = await runSdk(
            face,
            steps.map(([, step]) => step),
        );
        steps.forEach(([name], i) => named.set(name, results[i]));
    });

    after(async function () {
        await face?.stop();
        issuerServer?.close();
        loopbackServer?.close();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reads the cluster as ARM shapes it, without the secret", function () {
        const before = value<{ id: string; servicePrincipalProfile?: { clientId?: string; secret?: string }; provisioningState?: string }>(
            named.get("get before"),
        );
        assert.equal(before.id, spCluster.id);
        assert.equal(before.servicePrincipalProfile?.clientId, deployerA.clientId);
        assert.equal(before.servicePrincipalProfile?.secret, undefined);
        assert.equal(before.provisioningState, "Succeeded");
        const msi = value<{ identity?: { type?: string }; oidcIssuerProfile?: { issuerURL?: string } }>(named.get("get msi"));
        assert.equal(msi.identity?.type, "SystemAssigned");
        assert.equal(msi.oidcIssuerProfile?.issuerURL, issuer);
        const missing = failure(named.get("get missing"));
        assert.equal(missing.statusCode, 404);
        assert.equal(missing.code, "ResourceNotFound");
    });

    it("resets the service principal through the real poller and records it in the store", function () {
        assert.equal(value(named.get("reset")), "done");
        assert.equal(
            value<{ servicePrincipalProfile?: { clientId?: string } }>(named.get("get after")).servicePrincipalProfile?.clientId,
            pull.clientId,
        );
        const cluster = store.read().clusters[spCluster.id.toLowerCase()];
        assert.deepEqual(cluster.servicePrincipalProfile, { clientId: pull.clientId, secret: pull.secret });
        const resets = store.log(/^reset service principal$/);
        assert.equal(resets.length, 1, "only the accepted reset changes the cluster");
        assert.equal(resets[0].face, "arm");
        assert.equal(resets[0].target, spCluster.id);
        assert.deepEqual(resets[0].detail, { clientId: pull.clientId });
        // The poller's path: 202 with both headers, the operation polled to Succeeded, then the Location URL once.
        const arm = face.requests.filter((r) => r.host === "management.azure.com" && r.method !== "CONNECT");
        const resetAt = arm.findIndex((r) => r.path.endsWith("/aks-sp/resetServicePrincipalProfile") && r.status === 202);
        assert.ok(resetAt >= 0, "the reset was accepted with 202");
        const next = arm.slice(resetAt + 1, resetAt + 4).map((r) => `${r.method} ${r.path.replace(/\/[^/]+$/, "/{id}")} ${r.status}`);
        assert.deepEqual(next, [
            `GET /subscriptions/${SUB_A}/providers/Microsoft.ContainerService/locations/westeurope/operations/{id} 200`,
            `GET /subscriptions/${SUB_A}/providers/Microsoft.ContainerService/locations/westeurope/operations/{id} 200`,
            `GET /subscriptions/${SUB_A}/providers/Microsoft.ContainerService/locations/westeurope/operationresults/{id} 200`,
        ]);
    });

    it("refuses resets AKS refuses, leaving the cluster as it was", function () {
        const expired = failure(named.get("reset expired"));
        assert.equal(expired.statusCode, 400);
        assert.match(expired.message, /The credentials in ServicePrincipalProfile were invalid/);
        assert.match(expired.message, /AADSTS7000222/);
        const wrong = failure(named.get("reset wrong secret"));
        assert.match(wrong.message, /AADSTS7000215/);
        const unreplicated = failure(named.get("reset unreplicated"));
        assert.equal(unreplicated.statusCode, 400);
        assert.equal(unreplicated.code, "ServicePrincipalNotFound");
        assert.ok(
            unreplicated.message.startsWith(
                `Service principal clientID: ${fresh.clientId} not found in Active Directory tenant ${TENANT_A}`,
            ),
        );
        const msi = failure(named.get("reset msi"));
        assert.equal(msi.statusCode, 400);
        assert.match(msi.message, /MSI cluster/);
        const state = store.read();
        assert.equal(state.clusters[spCluster.id.toLowerCase()].servicePrincipalProfile.clientId, pull.clientId);
        assert.deepEqual(state.clusters[msiCluster.id.toLowerCase()].servicePrincipalProfile, { clientId: "msi" });
    });

    it("answers a token of another tenant with InvalidAuthenticationTokenTenant", function () {
        const error = failure(named.get("get wrong tenant"));
        assert.equal(error.statusCode, 401);
        assert.equal(error.code, "InvalidAuthenticationTokenTenant");
        assert.match(error.message, new RegExp(`https://sts.windows.net/${TENANT_A}/`));
    });

    it("lists the user kubeconfig", function () {
        const [kubeconfig] = value<string[]>(named.get("user credential"));
        assert.match(kubeconfig ?? "", /server: https:\/\/aks-sp-dns\.hcp\.westeurope\.azmk8s\.io:443/);
    });

    it("issues tokens only to provisioned applications with live secrets, with Entra's AADSTS codes", function () {
        const claims = value<Record<string, unknown>>(named.get("token pull in B"));
        assert.equal(claims.tid, TENANT_B);
        assert.equal(claims.appid, pull.clientId);
        assert.equal(claims.oid, pull.principals[TENANT_B]);
        assert.equal(claims.aud, "https://management.azure.com");
        assert.ok(typeof claims.exp === "number" && claims.exp * 1000 > Date.now());
        assert.match(failure(named.get("token wrong secret")).message, /AADSTS7000215: Invalid client secret provided/);
        assert.match(failure(named.get("token expired")).message, /AADSTS7000222/);
        assert.match(failure(named.get("token unknown tenant")).message, /AADSTS90002/);
        assert.match(failure(named.get("token single-tenant abroad")).message, /AADSTS700016/);
        assert.match(failure(named.get("token no principal")).message, /AADSTS700016/);
        const refused = face.requests.find((r) => r.path === `/${TENANT_A}/oauth2/v2.0/token` && r.error === "AADSTS7000215");
        assert.equal(refused?.status, 401);
    });

    it("answers the discovery documents other MSALs fetch (msal-node 7 has them built in for the public cloud)", function () {
        const openid = value<{ status: number; body: string }>(named.get("openid"));
        assert.equal(openid.status, 200);
        const document = JSON.parse(openid.body) as Record<string, unknown>;
        assert.equal(document.token_endpoint, `https://login.microsoftonline.com/${TENANT_A}/oauth2/v2.0/token`);
        assert.equal(document.issuer, `https://login.microsoftonline.com/${TENANT_A}/v2.0`);
        const unknown = value<{ status: number; body: string }>(named.get("openid unknown tenant"));
        assert.equal(unknown.status, 400);
        assert.deepEqual((JSON.parse(unknown.body) as { error_codes: number[] }).error_codes, [90002]);
        const discovery = JSON.parse(value<{ body: string }>(named.get("instance discovery")).body) as Record<string, unknown>;
        assert.equal(
            discovery.tenant_discovery_endpoint,
            `https://login.microsoftonline.com/${TENANT_A}/v2.0/.well-known/openid-configuration`,
        );
        const noToken = value<{ status: number; body: string }>(named.get("arm without token"));
        assert.equal(noToken.status, 401);
        assert.equal((JSON.parse(noToken.body) as { error: { code: string } }).error.code, "AuthenticationFailed");
    });

    it("exchanges a federated assertion only for a matching credential with a valid signature", function () {
        const claims = value<Record<string, unknown>>(named.get("federated"));
        assert.equal(claims.tid, TENANT_A);
        assert.equal(claims.appid, federated.clientId);
        assert.equal(claims.oid, federated.principals[TENANT_A]);
        assert.equal(claims.appidacr, "2");
        assert.match(failure(named.get("federated wrong subject")).message, /AADSTS70021/);
        assert.match(failure(named.get("federated wrong issuer")).message, /AADSTS700211/);
        assert.match(failure(named.get("federated forged")).message, /AADSTS700027/);
    });

    it("serves only its hosts: others are refused at CONNECT, loopback goes direct", function () {
        assert.deepEqual(value(named.get("outside host")), { status: 403, body: "The Azure twin does not serve example.com:443.\n" });
        assert.equal(value<{ status: number }>(named.get("unknown registry")).status, 403);
        assert.equal(value<{ status: number }>(named.get("registry")).status, 401);
        assert.deepEqual(value(named.get("loopback")), { status: 200, body: "direct" });
        const connects = face.requests.filter((r) => r.method === "CONNECT");
        assert.deepEqual([...new Set(connects.filter((r) => r.status === 403).map((r) => r.host))].sort(), [
            "example.com",
            "nosuchregistry.azurecr.io",
        ]);
        assert.deepEqual([...new Set(connects.filter((r) => r.status === 200).map((r) => r.host))].sort(), [
            "fabrikamimages.azurecr.io",
            "login.microsoftonline.com",
            "management.azure.com",
        ]);
        assert.ok(!face.requests.some((r) => r.host === "127.0.0.1"), "loopback traffic must not reach the proxy");
        assert.deepEqual(
            face.requests.filter((r) => r.method === "TLS"),
            [],
            "every tunnel's TLS handshake succeeded (the child trusts the run's CA)",
        );
    });

    it("records no secret and no token", function () {
        const recorded = JSON.stringify(face.requests) + JSON.stringify(store.log());
        for (const secret of [deployerA.secret, deployerB.secret, pull.secret, stale.secret, fresh.secret]) {
            assert.ok(!recorded.includes(secret), "a secret was recorded");
        }
        assert.ok(!/eyJ[\w-]{10,}\./.test(recorded), "a token was recorded");
    });
});
