/**
 * The binding's provider as it really runs: serialized by Pulumi into `__provider`, loaded from that text the way
 * the dynamic-provider host loads it, and driven over TLS against a fake that is both ARM and the Entra authority.
 * The unit tests of clusterBinding.test.ts call the provider in-process with a fake credential; only this shows
 * that the copy Pulumi makes (the reset module and its helpers included) still signs in and resets.
 */
import * as assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import type { BindingState } from "../components/clusterBinding";
import {
    DROPPED_CONNECTION,
    FakeArmServer,
    armError,
    clusterResponse,
    invalidCredentialsMessage,
    loadTlsFixture,
    notFoundInTenantMessage,
    refusedReset,
    trustCertificate,
    type FakeArmResponse,
} from "./fakeArm";
import { RecordingMocks, installMocks, promiseOf, settle, unwrapSecret } from "./mocks";
import { ValidationError } from "../components/validation";

// Loaded after the mocks are installed, as Pulumi's testing guide requires.
let bindingModule: typeof import("../components/clusterBinding");
let mocks: RecordingMocks;

const TENANT = "aaaaaaaa-0000-4000-8000-00000000000a";
const SUB = "0b1f6471-1bf0-4dda-aec3-111122223333";
const RG = "rg-aks";
const CLUSTER = "aks-prod";
const CLUSTER_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`;
const OLD_CLIENT = "11111111-aaaa-4bbb-8ccc-000000000001";
const APP_CLIENT = "22222222-aaaa-4bbb-8ccc-000000000002";
const RESTORE_CLIENT = "33333333-aaaa-4bbb-8ccc-000000000003";
const HAND_SET_CLIENT = "44444444-aaaa-4bbb-8ccc-000000000004";
const SIGN_IN_CLIENT = "55555555-aaaa-4bbb-8ccc-000000000005";
const SECRET = "app-SECRET~serialized.1";
const RESTORE_SECRET = "restore-SECRET~serialized";
const SIGN_IN_SECRET = "sign-in-SECRET~serialized";
const SECRETS = [SECRET, RESTORE_SECRET, SIGN_IN_SECRET];
const ACCESS_TOKEN = "fake-entra-token-for-serialized-provider";

type Provider = pulumi.dynamic.ResourceProvider<BindingState, BindingState>;
/** The engine's view of the binding: plain values, secrets unwrapped, `__provider` included as the host passes it. */
type EngineProps = BindingState & { readonly __provider: string };

/**
 * The host's loader (pulumi/cmd/dynamic-provider: `requireFromString(text).handler()`), taken from Pulumi's own
 * dependencies so the module is compiled and resolves `require` exactly as at deploy time.
 */
function loadAsHost(text: string): Provider {
    const requireFromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const requireFromString = requireFromPulumi("require-from-string") as (code: string) => { handler: () => Provider };
    return requireFromString(text).handler();
}

describe("ClusterCredentialBinding's serialized provider (loaded as the host loads it, against a fake ARM and Entra)", () => {
    const fixture = loadTlsFixture();
    const logModule = pulumi.log as unknown as { info: typeof pulumi.log.info; warn: typeof pulumi.log.warn };
    const originalLog = { info: logModule.info, warn: logModule.warn };
    let restoreTrust: () => void;
    let server: FakeArmServer;
    let logs: string[];
    let engineProps: EngineProps;
    let provider: Provider;

    before(() => {
        restoreTrust = trustCertificate(fixture.cert);
    });
    after(() => restoreTrust());

    beforeEach(async () => {
        server = (await FakeArmServer.start(fixture)).actAsAuthority(ACCESS_TOKEN);
        logs = [];
        // The loaded provider requires the same @pulumi/pulumi module, so its progress lines land here.
        logModule.info = async (message: string) => void logs.push(message);
        logModule.warn = async (message: string) => void logs.push(message);

        mocks = await installMocks();
        bindingModule = await import("../components/clusterBinding");
        const binding = new bindingModule.ClusterCredentialBinding("binding", {
            subscriptionId: SUB,
            resourceGroupName: RG,
            clusterName: CLUSTER,
            tenantId: TENANT,
            clientId: APP_CLIENT,
            secret: SECRET,
            deletePolicy: "restore",
            restore: { clientId: RESTORE_CLIENT, secret: RESTORE_SECRET },
            signIn: { clientId: SIGN_IN_CLIENT, clientSecret: SIGN_IN_SECRET },
            armEndpoint: server.endpoint,
            authorityHost: server.endpoint,
            pollIntervalSeconds: 0.02,
            timeoutMinutes: 1,
        });
        await promiseOf(binding.urn);
        await settle();

        const inputs = mocks.named("binding").inputs;
        assert.equal(typeof inputs.__provider, "string", "a secret __provider would mean the provider captured a secret");
        for (const secret of [...SECRETS, ACCESS_TOKEN]) {
            assert.ok(!(inputs.__provider as string).includes(secret), `the serialized provider contains ${secret}`);
        }
        engineProps = Object.fromEntries(
            Object.entries(inputs).map(([key, value]) => [key, unwrapSecret(value)]),
        ) as unknown as EngineProps;
        provider = loadAsHost(engineProps.__provider);
    });

    afterEach(async () => {
        logModule.info = originalLog.info;
        logModule.warn = originalLog.warn;
        await server.stop();
        assert.deepEqual(
            server.unscripted.map((r) => `${r.method} ${r.path}`),
            [],
            "the serialized provider sent a request the test did not script",
        );
        for (const line of logs) {
            for (const secret of SECRETS) {
                assert.ok(!line.includes(secret), `a log line contains a secret: ${line}`);
            }
        }
    });

    function cluster(clientId: string): FakeArmResponse {
        return clusterResponse(SUB, RG, CLUSTER, clientId);
    }

    function scriptAcceptedReset(operationId: string, ...before: FakeArmResponse[]): void {
        server.acceptReset(SUB, operationId, ...before);
    }

    /**
     * What the host needs of an error: create and update send `message` to the engine, read and delete print
     * `${error}: ${error.stack}`. The serialized copy of a class must still be an Error carrying its message.
     */
    function assertIsClusterCredentialError(error: unknown, code: string): void {
        assert.ok(error instanceof Error, "the serialized ClusterCredentialError is not an Error");
        assert.equal(error.name, "ClusterCredentialError");
        assert.equal((error as { code?: string }).code, code);
        assert.equal(typeof error.message, "string");
        assert.ok(error.message.length > 0, "the serialized ClusterCredentialError lost its message");
        assert.equal(String(error), `ClusterCredentialError: ${error.message}`);
        assert.equal(typeof error.stack, "string");
    }

    function resetBodies(): unknown[] {
        return server.resetBodies();
    }

    /** Every token request came from the sign-in principal, for the configured ARM audience. */
    function assertSignedInAtTheFake(): void {
        const tokens = server.tokenRequests();
        assert.ok(tokens.length >= 1, "no token was requested from the custom authority");
        for (const token of tokens) {
            assert.deepEqual(token, {
                tenant: TENANT,
                grantType: "client_credentials",
                clientId: SIGN_IN_CLIENT,
                clientSecret: SIGN_IN_SECRET,
                scope: `${server.endpoint}/.default`,
            });
        }
        assert.ok(server.requestsFor("openidConfiguration").length >= 1, "MSAL did not discover its endpoints at the custom authority");
        const armRequests = server.requests.filter((r) => r.route !== "token" && r.route !== "openidConfiguration");
        assert.ok(armRequests.length >= 1, "no ARM request reached the fake");
        for (const request of armRequests) {
            assert.equal(
                request.headers.authorization,
                `Bearer ${ACCESS_TOKEN}`,
                `${request.method} ${request.path} did not carry the authority's token`,
            );
        }
        const firstToken = server.requests.findIndex((r) => r.route === "token");
        const firstArm = server.requests.findIndex((r) => r.route === "getCluster");
        assert.ok(firstToken >= 0 && firstToken < firstArm, "ARM was called before signing in");
    }

    it("create signs in at the custom authority and switches the cluster at the custom ARM endpoint", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        scriptAcceptedReset("op-create");

        const result = await provider.create(engineProps);

        assert.equal(result.id, CLUSTER_ID);
        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
        assert.equal(result.outs?.clusterClientId, APP_CLIENT);
        assert.equal(result.outs?.armEndpoint, server.endpoint);
        assert.equal(result.outs?.authorityHost, server.endpoint);
        assert.equal(result.outs?.pollIntervalSeconds, 0.02);
        assert.equal(server.requestsFor("getCluster").length, 1);
        assert.deepEqual(resetBodies(), [{ clientId: APP_CLIENT, secret: SECRET }]);
        assert.ok(
            server.requestsFor("operationStatus").length >= 2,
            "the serialized provider stopped polling before the operation finished",
        );
        assertSignedInAtTheFake();
        assert.ok(
            logs.some((line) => line.includes(`asking Azure to switch it to ${APP_CLIENT}`) && /elapsed/.test(line)),
            `no progress line from the serialized reset: ${logs.join(" | ")}`,
        );
        assert.ok(
            logs.some((line) => line.includes("polling every 20ms")),
            `the poll interval from the state was not used: ${logs.join(" | ")}`,
        );
    });

    it("create waits out another operation on the cluster, retrying inside the serialized code", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        scriptAcceptedReset("op-after-conflict", {
            status: 409,
            body: armError(
                "OperationNotAllowed",
                "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation.",
            ),
        });

        const result = await provider.create(engineProps);

        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
        assert.deepEqual(resetBodies(), [
            { clientId: APP_CLIENT, secret: SECRET },
            { clientId: APP_CLIENT, secret: SECRET },
        ]);
        assert.ok(
            logs.some((line) =>
                /another operation is in progress on the cluster \(HTTP 409 OperationNotAllowed\); retrying in \d+ms \(attempt 2\)/.test(
                    line,
                ),
            ),
            `no retry line: ${logs.join(" | ")}`,
        );
    });

    it("create waits for Entra ID to replicate the application, retrying inside the serialized code", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        scriptAcceptedReset(
            "op-after-replication",
            refusedReset("ServicePrincipalNotFound", notFoundInTenantMessage(APP_CLIENT, TENANT), 404),
            refusedReset("BadRequest", invalidCredentialsMessage(APP_CLIENT, TENANT, "AADSTS7000215")),
        );

        const result = await provider.create(engineProps);

        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
        assert.deepEqual(resetBodies(), Array(3).fill({ clientId: APP_CLIENT, secret: SECRET }));
        const waits = logs.filter((line) => line.startsWith(`Waiting for Entra ID to replicate application ${APP_CLIENT}: `));
        assert.equal(waits.length, 2, `no replication wait lines: ${logs.join(" | ")}`);
        assert.match(
            waits[0],
            /AKS does not find the service principal in the tenant \(ServicePrincipalNotFound\), HTTP 404 on the reset request; retrying the reset of rg-aks\/aks-prod in \d+ms \(attempt 2\) \(elapsed /,
        );
        assert.match(
            waits[1],
            /Entra ID rejects the client secret \(BadRequest, AADSTS7000215\), HTTP 400 on the reset request; .*\(attempt 3\)/,
        );
    });

    it("replication that never settles ends in a ReplicationTimeout naming the client id and the stack's tenant", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        // Without the tenant in the message: the one named must be the binding's own `tenantId`.
        server.setFallback(
            "resetServicePrincipalProfile",
            refusedReset("BadRequest", invalidCredentialsMessage(APP_CLIENT, "other-tenant", "AADSTS7000215")),
        );

        await assert.rejects(provider.create({ ...engineProps, timeoutMinutes: 0.02 }), (error: Error) => {
            assertIsClusterCredentialError(error, "ReplicationTimeout");
            assert.ok(
                error.message.includes(`did not accept application (client id) ${APP_CLIENT} of tenant ${TENANT} before the deadline`),
                error.message,
            );
            assert.match(error.message, /continues where this one stopped/);
            for (const secret of SECRETS) {
                assert.ok(!error.message.includes(secret), `the error contains a secret: ${error.message}`);
            }
            return true;
        });
        assert.ok(resetBodies().length >= 2, "the serialized code retried the reset");
    });

    it("read survives dropped connections (the transient network codes) and reports drift", async () => {
        // The SDK retries a dropped connection 3 times itself; the fifth attempt is the serialized withRetries' own.
        server.enqueue(
            "getCluster",
            DROPPED_CONNECTION,
            DROPPED_CONNECTION,
            DROPPED_CONNECTION,
            DROPPED_CONNECTION,
            cluster(HAND_SET_CLIENT),
        );
        const stored: EngineProps = { ...engineProps, previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT };

        const read = await provider.read!(CLUSTER_ID, stored);

        assert.equal(read.id, CLUSTER_ID);
        assert.equal(read.props?.clusterClientId, HAND_SET_CLIENT);
        assert.equal(server.requestsFor("getCluster").length, 5);
        assert.ok(
            logs.some((line) => /Reading the cluster for rg-aks\/aks-prod: network error E\w+; retrying/.test(line)),
            `no network retry line: ${logs.join(" | ")}`,
        );
        assertSignedInAtTheFake();
        const diff = await provider.diff!(CLUSTER_ID, read.props, engineProps);
        assert.equal(diff.changes, true, "the cluster was switched by hand: the next up must switch it back");
        assert.deepEqual(diff.replaces, []);
    });

    it("delete with restore switches the cluster back to the restore principal", async () => {
        server.enqueue("getCluster", cluster(APP_CLIENT));
        scriptAcceptedReset("op-restore");

        await provider.delete!(CLUSTER_ID, { ...engineProps, previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });

        assert.deepEqual(resetBodies(), [{ clientId: RESTORE_CLIENT, secret: RESTORE_SECRET }]);
        assertSignedInAtTheFake();
        assert.ok(
            logs.some((line) => line.includes(`switch it to ${RESTORE_CLIENT}`)),
            `no restore progress line: ${logs.join(" | ")}`,
        );
    });

    it("changing the endpoints or the poll interval is an in-place update that calls nothing", async () => {
        const stored: EngineProps = { ...engineProps, previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT };
        const changes: Partial<BindingState>[] = [
            { armEndpoint: "https://management.local.azurestack.external" },
            { authorityHost: "https://login.local.azurestack.external" },
            { pollIntervalSeconds: 30 },
        ];
        for (const change of changes) {
            const news = { ...engineProps, ...change };
            assert.deepEqual(
                await provider.diff!(CLUSTER_ID, stored, news),
                { changes: true, replaces: [], deleteBeforeReplace: false },
                JSON.stringify(change),
            );
            const result = await provider.update!(CLUSTER_ID, stored, news);
            assert.equal(result.outs?.previousClientId, OLD_CLIENT);
            assert.deepEqual({ ...result.outs, ...change }, result.outs, "the new setting was not stored");
        }
        assert.equal(server.requests.length, 0, "a settings change must not sign in or reset");

        // A stack deployed before these settings existed, whose program does not set them, sees no change.
        const { armEndpoint: _a, authorityHost: _h, pollIntervalSeconds: _p, ...legacy } = stored;
        const { armEndpoint: _na, authorityHost: _nh, pollIntervalSeconds: _np, ...unset } = engineProps;
        assert.deepEqual(await provider.diff!(CLUSTER_ID, legacy, unset), { changes: false, replaces: [], deleteBeforeReplace: false });
    });

    it("rejects endpoints that are not https origins and a poll interval that is not positive", async () => {
        assert.throws(
            () =>
                new bindingModule.ClusterCredentialBinding("bad", {
                    subscriptionId: SUB,
                    resourceGroupName: RG,
                    clusterName: CLUSTER,
                    tenantId: TENANT,
                    clientId: APP_CLIENT,
                    secret: SECRET,
                    armEndpoint: "http://management.local.azurestack.external",
                    authorityHost: "https://login.local.azurestack.external/some-tenant",
                    pollIntervalSeconds: 0,
                }),
            (error: unknown) => {
                assert.ok(error instanceof ValidationError);
                assert.deepEqual(
                    error.problems.map((problem) => problem.key),
                    ["armEndpoint", "authorityHost", "pollIntervalSeconds"],
                );
                assert.ok(!error.message.includes(SECRET));
                return true;
            },
        );
        // Trailing slashes are what people paste; they are not a path.
        const lenient = new bindingModule.ClusterCredentialBinding("lenient", {
            subscriptionId: SUB,
            resourceGroupName: RG,
            clusterName: CLUSTER,
            tenantId: TENANT,
            clientId: APP_CLIENT,
            secret: SECRET,
            armEndpoint: `${server.endpoint}/`,
            authorityHost: `${server.endpoint}//`,
        });
        await promiseOf(lenient.urn);
        await settle();
        assert.equal(mocks.named("lenient").inputs.armEndpoint, server.endpoint);
        assert.equal(mocks.named("lenient").inputs.authorityHost, server.endpoint);
        assert.equal("pollIntervalSeconds" in mocks.named("lenient").inputs, false, "an unset poll interval must stay out of the state");
    });

    it("a failure that echoes the secret reaches the engine redacted", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT)).enqueue("resetServicePrincipalProfile", {
            status: 400,
            body: armError("InvalidParameter", `The secret '${SECRET}' does not match client ${APP_CLIENT}`),
        });

        await assert.rejects(provider.create(engineProps), (error: Error) => {
            assertIsClusterCredentialError(error, "RequestFailed");
            assert.equal((error as { statusCode?: number }).statusCode, 400);
            assert.match(error.message, /InvalidParameter/);
            assert.match(error.message, /The secret '\*\*\*' does not match/);
            for (const secret of SECRETS) {
                assert.ok(!error.message.includes(secret), `the error contains a secret: ${error.message}`);
            }
            return true;
        });
    });

    it("a refused sign-in stops before ARM and names no secret", async () => {
        server.enqueue("token", {
            status: 401,
            body: { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." },
        });

        await assert.rejects(provider.create(engineProps), (error: Error) => {
            assertIsClusterCredentialError(error, "RequestFailed");
            assert.match(error.message, /invalid_client|AADSTS7000215/);
            for (const secret of SECRETS) {
                assert.ok(!error.message.includes(secret), `the error contains a secret: ${error.message}`);
            }
            return true;
        });
        assert.equal(server.requestsFor("getCluster").length, 0, "ARM was called without a token");
        assert.deepEqual(resetBodies(), []);
    });
});
