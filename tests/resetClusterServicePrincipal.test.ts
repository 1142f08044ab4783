import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { inspect } from "node:util";
import type { ContainerServiceClientOptionalParams } from "@azure/arm-containerservice";
import {
    ARM_ENDPOINTS,
    ClusterCredentialError,
    entraReplicationRefusal,
    readClusterClientId,
    resetClusterServicePrincipal,
    type ArmConnection,
    type ClusterTarget,
} from "../components/reset/resetClusterServicePrincipal";
import {
    armError,
    clusterResource,
    FakeArmServer,
    invalidCredentialsMessage,
    loadTlsFixture,
    notFoundInTenantMessage,
    operationStatus,
    refusedReset,
    StaticCredential,
    trustCertificate,
    type FakeArmResponse,
} from "./fakeArm";

const SUB = "0b1f6471-1bf0-4dda-aec3-111122223333";
const RG = "rg-aks-west";
const CLUSTER = "aks-prod-01";
const TARGET: ClusterTarget = { subscriptionId: SUB, resourceGroupName: RG, clusterName: CLUSTER };
const OLD_CLIENT_ID = "11111111-aaaa-bbbb-cccc-000000000001";
const NEW_CLIENT_ID = "22222222-aaaa-bbbb-cccc-000000000002";
// Distinctive enough that a substring match cannot be a coincidence.
const SECRET = "Zq8~sp-SECRET.value_do-not-leak";
const PROFILE = { clientId: NEW_CLIENT_ID, secret: SECRET };
const TENANT = "aaaaaaaa-0000-4000-8000-00000000000a";
// Every progress line ends with the elapsed time, e.g. "(elapsed 850ms)", "(elapsed 12.3s)", "(elapsed 5m 03s)".
const ELAPSED = /\(elapsed (\d+ms|\d+\.\ds|\d+m \d\ds|\d+h \d\dm \d\ds)\)$/;
const CLUSTER_PATH = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`;

/** The api-version the SDK puts on its requests, observed by stopping its pipeline before any I/O. */
async function sdkApiVersion(): Promise<{ apiVersion: string; known: string[] }> {
    const sdk = await import("@azure/arm-containerservice");
    let seen: string | null = null;
    const probe: NonNullable<ContainerServiceClientOptionalParams["additionalPolicies"]>[number] = {
        position: "perCall",
        policy: {
            name: "apiVersionProbe",
            sendRequest: async (request) => {
                seen = new URL(request.url).searchParams.get("api-version");
                throw new Error("probe: request stopped before sending");
            },
        },
    };
    const client = new sdk.ContainerServiceClient(new StaticCredential(), SUB, {
        endpoint: "https://probe.invalid",
        additionalPolicies: [probe],
    });
    await client.managedClusters.get(RG, CLUSTER).catch(() => undefined);
    assert.ok(seen, "the probe saw no api-version");
    return { apiVersion: seen, known: Object.values(sdk.KnownVersions) };
}

function assertNoSecret(text: string, what: string): void {
    assert.ok(!text.includes(SECRET), `${what} contains the secret: ${text}`);
}

/** Asserts a ClusterCredentialError with `code`, free of the secret in every rendering; returns it. */
async function expectFailure(promise: Promise<unknown>, code: string): Promise<ClusterCredentialError> {
    let caught: unknown;
    try {
        await promise;
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof ClusterCredentialError, `expected ClusterCredentialError, got ${inspect(caught)}`);
    assert.equal(caught.code, code, caught.message);
    assertNoSecret(caught.message, "error message");
    assertNoSecret(String(caught.stack), "error stack");
    assertNoSecret(inspect(caught, { depth: 10, showHidden: true }), "inspected error");
    assertNoSecret(JSON.stringify(caught), "serialized error");
    assert.equal((caught as { cause?: unknown }).cause, undefined, "the SDK error (holding the request body) must not be attached");
    return caught;
}

describe("resetClusterServicePrincipal (against a fake ARM server)", function () {
    const fixture = loadTlsFixture();
    let restoreTrust: () => void;
    let server: FakeArmServer;
    let credential: StaticCredential;
    let logs: string[];
    let sdk: { apiVersion: string; known: string[] };

    before(async function () {
        restoreTrust = trustCertificate(fixture.cert);
        sdk = await sdkApiVersion();
    });
    after(function () {
        restoreTrust();
    });

    beforeEach(async function () {
        server = await FakeArmServer.start(fixture);
        credential = new StaticCredential();
        logs = [];
    });

    afterEach(async function () {
        await server.stop();
        for (const line of logs) assertNoSecret(line, "log line");
    });

    function connection(overrides: Partial<ArmConnection> = {}): ArmConnection {
        return { endpoint: server.endpoint, credential, pollIntervalMs: 10, timeoutMs: 10_000, log: (m) => logs.push(m), ...overrides };
    }

    const spCluster: FakeArmResponse = {
        status: 200,
        body: clusterResource({ subscriptionId: SUB, resourceGroupName: RG, clusterName: CLUSTER, clientId: OLD_CLIENT_ID }),
    };

    function accepted(operationId = "op-1"): FakeArmResponse {
        return {
            status: 202,
            headers: {
                "azure-asyncoperation": server.asyncOperationUrl(SUB, operationId),
                location: server.operationResultUrl(SUB, operationId),
            },
        };
    }

    /** Scripts an accepted reset that succeeds after one InProgress poll. */
    function scriptSuccessAfterPost(): void {
        server
            .enqueue("resetServicePrincipalProfile", accepted())
            .enqueue(
                "operationStatus",
                { status: 200, body: operationStatus("InProgress") },
                { status: 200, body: operationStatus("Succeeded") },
            )
            .enqueue("operationResult", { status: 200, body: {} });
    }

    it("reads the cluster, posts the reset and polls the operation to success", async function () {
        server
            .enqueue("getCluster", spCluster)
            .enqueue("resetServicePrincipalProfile", accepted("op-happy"))
            .enqueue(
                "operationStatus",
                { status: 200, body: operationStatus("InProgress") },
                { status: 200, body: operationStatus("InProgress") },
                { status: 200, body: operationStatus("Succeeded") },
            )
            .enqueue("operationResult", { status: 200, body: {} });

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        assert.deepEqual(
            server.requests.map((r) => `${r.method} ${r.route}`),
            [
                "GET getCluster",
                "POST resetServicePrincipalProfile",
                "GET operationStatus",
                "GET operationStatus",
                "GET operationStatus",
                "GET operationResult",
            ],
        );
        const [get, post] = server.requests;
        assert.equal(get.path, CLUSTER_PATH);
        assert.equal(post.path, `${CLUSTER_PATH}/resetServicePrincipalProfile`);
        assert.ok(sdk.known.includes(sdk.apiVersion), `${sdk.apiVersion} is one of the SDK's KnownVersions`);
        assert.equal(get.apiVersion, sdk.apiVersion);
        assert.equal(post.apiVersion, sdk.apiVersion);
        assert.deepEqual(post.body, { clientId: NEW_CLIENT_ID, secret: SECRET });
        assert.match(String(post.headers["content-type"]), /^application\/json/);
        for (const poll of server.requestsFor("operationStatus")) {
            assert.equal(poll.path, `/subscriptions/${SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/op-happy`);
            assert.equal(poll.apiVersion, "2016-03-30", "the poll keeps the api-version of the Azure-AsyncOperation URL");
        }
        for (const request of server.requests) assert.equal(request.headers.authorization, "Bearer test-token");
        assert.ok(credential.scopes.length > 0);
        for (const scopes of credential.scopes) assert.deepEqual(scopes, [`${server.endpoint}/.default`]);

        assert.ok(logs.length >= 5, logs.join("\n"));
        for (const line of logs) assert.match(line, ELAPSED);
        assert.equal(logs.filter((l) => /operation running /.test(l)).length, 2, logs.join("\n"));
        assert.ok(
            logs.some((l) => /operation succeeded /.test(l)),
            logs.join("\n"),
        );
        assert.ok(
            logs.some((l) => l.includes(OLD_CLIENT_ID) && l.includes(NEW_CLIENT_ID)),
            logs.join("\n"),
        );
        assert.deepEqual(server.unscripted, []);
    });

    it("treats a 204 No Content from the final Location GET as success", async function () {
        server
            .enqueue("getCluster", spCluster)
            .enqueue("resetServicePrincipalProfile", accepted())
            .enqueue("operationStatus", { status: 200, body: operationStatus("Succeeded") })
            .enqueue("operationResult", { status: 204 });

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        assert.equal(server.requestsFor("operationResult").length, 1);
    });

    it("honours Retry-After on a 429 and then succeeds", async function () {
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", {
            status: 429,
            headers: { "retry-after": "1" },
            body: armError("TooManyRequests", "Too many requests, retry after 1 second."),
        });
        scriptSuccessAfterPost();

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        const posts = server.requestsFor("resetServicePrincipalProfile");
        assert.equal(posts.length, 2);
        const waited = posts[1].receivedAt - posts[0].receivedAt;
        assert.ok(waited >= 900 && waited < 5000, `waited ${waited} ms for Retry-After: 1`);
        assert.deepEqual(posts[1].body, { clientId: NEW_CLIENT_ID, secret: SECRET });
    });

    it("retries a transient 500 and then succeeds", async function () {
        server
            .enqueue("getCluster", spCluster)
            .enqueue("resetServicePrincipalProfile", { status: 500, body: armError("InternalServerError", "An internal error occurred.") });
        scriptSuccessAfterPost();

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 2);
    });

    it("keeps retrying 503s beyond the SDK's own retries, within the deadline", async function () {
        const unavailable: FakeArmResponse = { status: 503, body: armError("ServiceUnavailable", "The service is unavailable.") };
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", ...Array<FakeArmResponse>(6).fill(unavailable));
        scriptSuccessAfterPost();

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 7);
        assert.ok(
            logs.some((l) => /HTTP 503/.test(l) && /retrying in/.test(l)),
            logs.join("\n"),
        );
    });

    it("waits out a 409 'another operation is in progress' and then succeeds", async function () {
        server.enqueue("getCluster", spCluster).enqueue(
            "resetServicePrincipalProfile",
            {
                status: 409,
                body: armError(
                    "OperationNotAllowed",
                    "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation.",
                ),
            },
            { status: 409, body: armError("Conflict", "Another operation is in progress on the managed cluster.") },
        );
        scriptSuccessAfterPost();

        const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

        assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 3);
        assert.equal(logs.filter((l) => /in progress/.test(l) && /retrying in/.test(l)).length, 2, logs.join("\n"));
    });

    it("does not retry a 409 that is not about an operation in progress", async function () {
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", {
            status: 409,
            body: armError("PropertyChangeNotAllowed", "Changing property 'x' is not allowed."),
        });

        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "RequestFailed");

        assert.equal(err.azureCode, "PropertyChangeNotAllowed");
        assert.equal(err.statusCode, 409);
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 1);
    });

    it("stops retrying an endless 409 at the deadline and says why", async function () {
        server.enqueue("getCluster", spCluster);
        server.setFallback("resetServicePrincipalProfile", {
            status: 409,
            body: armError(
                "OperationNotAllowed",
                "Operation is not allowed: Another operation (Upgrading) is in progress, please wait for it to finish before starting a new operation.",
            ),
        });

        const started = Date.now();
        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs: 400 })), "Timeout");

        assert.ok(Date.now() - started < 2000);
        assert.ok(server.requestsFor("resetServicePrincipalProfile").length >= 3, "retried with backoff before giving up");
        assert.match(err.message, /OperationNotAllowed/);
        assert.match(err.message, /Another operation \(Upgrading\) is in progress/);
        assert.doesNotMatch(err.message, /may still finish/, "every request was refused, so nothing can be pending");
    });

    it("surfaces Azure's code and message when the operation ends Failed, without the secret", async function () {
        server
            .enqueue("getCluster", spCluster)
            .enqueue("resetServicePrincipalProfile", accepted())
            .enqueue(
                "operationStatus",
                { status: 200, body: operationStatus("InProgress") },
                {
                    status: 200,
                    body: operationStatus("Failed", {
                        code: "ServicePrincipalValidationClientError",
                        // Azure echoing the secret must not leak it.
                        message: `Service principal ${NEW_CLIENT_ID} with secret ${SECRET} was rejected by Microsoft Entra ID.`,
                    }),
                },
            );

        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "OperationFailed");

        assert.equal(err.azureCode, "ServicePrincipalValidationClientError");
        assert.match(err.message, /ServicePrincipalValidationClientError/);
        assert.match(err.message, /was rejected by Microsoft Entra ID/);
        assert.ok(err.message.includes(CLUSTER));
        assert.equal(server.requestsFor("operationResult").length, 0, "no final GET after a failure");
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 1, "a failure that is not replication is not retried");
    });

    describe("while Entra ID replicates a new principal or secret", function () {
        /** Progress lines about waiting for replication, in order. */
        function waits(): string[] {
            return logs.filter((line) => line.startsWith("Waiting for Entra ID"));
        }

        function waitLine(reason: string, where: string, attempt: number): RegExp {
            const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
            return new RegExp(
                `^Waiting for Entra ID to replicate application ${NEW_CLIENT_ID}: ${escape(reason)}, ${escape(where)}; ` +
                    `retrying the reset of ${RG}/${CLUSTER} in \\d+ms \\(attempt ${attempt}\\) \\(elapsed [^)]+\\)$`,
            );
        }

        it("retries the reset while AKS does not find the principal, in each of its wordings, then succeeds", async function () {
            server
                .enqueue("getCluster", spCluster)
                .enqueue(
                    "resetServicePrincipalProfile",
                    refusedReset("ServicePrincipalNotFound", notFoundInTenantMessage(NEW_CLIENT_ID, TENANT), 404),
                    refusedReset("BadRequest", notFoundInTenantMessage(NEW_CLIENT_ID, TENANT)),
                    refusedReset("InvalidParameter", invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS700016")),
                );
            scriptSuccessAfterPost();

            const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection({ tenantId: TENANT }));

            assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
            const posts = server.requestsFor("resetServicePrincipalProfile");
            assert.equal(posts.length, 4);
            for (const post of posts)
                assert.deepEqual(post.body, { clientId: NEW_CLIENT_ID, secret: SECRET }, "each attempt is a new POST");
            const gaps = posts.slice(1).map((post, i) => post.receivedAt - posts[i].receivedAt);
            assert.ok(gaps[2] >= 30, `the waits back off: ${gaps.join(", ")} ms`);
            assert.equal(waits().length, 3, logs.join("\n"));
            assert.match(
                waits()[0],
                waitLine(
                    "AKS does not find the service principal in the tenant (ServicePrincipalNotFound)",
                    "HTTP 404 on the reset request",
                    2,
                ),
            );
            assert.match(
                waits()[1],
                waitLine("AKS does not find the service principal in the tenant (BadRequest)", "HTTP 400 on the reset request", 3),
            );
            assert.match(
                waits()[2],
                waitLine(
                    "Entra ID does not find the application in the tenant (InvalidParameter, AADSTS700016)",
                    "HTTP 400 on the reset request",
                    4,
                ),
            );
            assert.ok(
                logs.some((line) => /finished: the cluster now uses service principal/.test(line)),
                logs.join("\n"),
            );
            assert.deepEqual(server.unscripted, []);
        });

        it("retries once when Entra ID rejects a secret it has not replicated yet (AADSTS7000215)", async function () {
            server
                .enqueue("getCluster", spCluster)
                .enqueue(
                    "resetServicePrincipalProfile",
                    refusedReset("BadRequest", invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000215")),
                );
            scriptSuccessAfterPost();

            const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

            assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
            assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 2);
            assert.deepEqual(waits().length, 1, logs.join("\n"));
            assert.match(
                waits()[0],
                waitLine("Entra ID rejects the client secret (BadRequest, AADSTS7000215)", "HTTP 400 on the reset request", 2),
            );
        });

        it("sends a new reset when the accepted operation fails for replication, and succeeds", async function () {
            server.enqueue("getCluster", spCluster).acceptThenFailReset(SUB, "op-refused", {
                code: "ServicePrincipalValidationClientError",
                message: invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000215"),
            });
            scriptSuccessAfterPost();

            const result = await resetClusterServicePrincipal(TARGET, PROFILE, connection());

            assert.deepEqual(result, { previousClientId: OLD_CLIENT_ID });
            assert.deepEqual(
                server.requests.map((r) => `${r.method} ${r.route}`),
                [
                    "GET getCluster",
                    "POST resetServicePrincipalProfile",
                    "GET operationStatus",
                    "GET operationStatus",
                    "POST resetServicePrincipalProfile",
                    "GET operationStatus",
                    "GET operationStatus",
                    "GET operationResult",
                ],
            );
            assert.equal(waits().length, 1, logs.join("\n"));
            assert.match(
                waits()[0],
                waitLine(
                    "Entra ID rejects the client secret (ServicePrincipalValidationClientError, AADSTS7000215)",
                    "the accepted reset operation failed",
                    2,
                ),
            );
            assert.deepEqual(server.unscripted, []);
        });

        for (const [label, refusal] of [
            [
                "InvalidParameter about a malformed profile",
                refusedReset("InvalidParameter", "The value of parameter servicePrincipalProfile.clientId is invalid."),
            ],
            [
                "BadRequest about something else",
                refusedReset("BadRequest", "Changing property 'servicePrincipalProfile' is not allowed while the cluster is stopped."),
            ],
            [
                "an expired secret (AADSTS7000222)",
                refusedReset("BadRequest", invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000222")),
            ],
        ] as const) {
            it(`fails at once with Azure's code and message on ${label}`, async function () {
                server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", refusal);

                const err = await expectFailure(
                    resetClusterServicePrincipal(TARGET, PROFILE, connection({ tenantId: TENANT })),
                    "RequestFailed",
                );

                const sent = (refusal.body as { error: { code: string; message: string } }).error;
                assert.equal(err.azureCode, sent.code);
                assert.equal(err.statusCode, 400);
                assert.ok(err.message.includes(sent.message), err.message);
                assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 1);
                assert.deepEqual(waits(), []);
            });
        }

        it("gives up near the deadline when AKS never accepts the secret, saying what to check, without the secret", async function () {
            server.enqueue("getCluster", spCluster);
            // Azure echoing the secret must not leak it through the new paths either.
            server.setFallback(
                "resetServicePrincipalProfile",
                refusedReset("BadRequest", `${invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000215")} Secret sent: ${SECRET}`),
            );
            const timeoutMs = 600;

            const started = Date.now();
            const err = await expectFailure(
                resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs, tenantId: TENANT })),
                "ReplicationTimeout",
            );
            const took = Date.now() - started;

            assert.ok(took >= timeoutMs / 2 && took < timeoutMs + 1500, `gave up after ${took} ms of ${timeoutMs}`);
            const posts = server.requestsFor("resetServicePrincipalProfile").length;
            assert.ok(posts >= 4, `retried with backoff: ${posts} POSTs`);
            // The last wait is shortened to fit one more attempt before the deadline; under load the deadline may still cut
            // that attempt off before the fake records it.
            assert.ok(waits().length === posts - 1 || waits().length === posts, `one progress line per wait: ${logs.join("\n")}`);
            waits().forEach((line, i) =>
                assert.match(
                    line,
                    waitLine("Entra ID rejects the client secret (BadRequest, AADSTS7000215)", "HTTP 400 on the reset request", i + 2),
                ),
            );
            assert.equal(err.azureCode, "BadRequest");
            assert.equal(err.statusCode, 400);
            for (const expected of [
                `did not accept application (client id) ${NEW_CLIENT_ID} of tenant ${TENANT} before the deadline`,
                `AKS cluster "${CLUSTER}" (resource group "${RG}", subscription "${SUB}")`,
                "attempts (timeout 600ms)",
                "Last refusal: HTTP 400 on the reset request: BadRequest: The credentials in ServicePrincipalProfile were invalid.",
                "Secret sent: ***",
                "a later `pulumi up` tries the reset again and continues where this one stopped",
                "the secret's start and end dates",
                `az ad app credential list --id ${NEW_CLIENT_ID}`,
                `signed in to tenant ${TENANT}`,
                "sign-in audience is multitenant, AzureADMultipleOrgs",
            ]) {
                assert.ok(err.message.includes(expected), `missing "${expected}" in: ${err.message}`);
            }
            assert.match(err.message, /waited (\d+ms|\d+\.\ds) for Entra ID to replicate it/);
        });

        it("reports the refusals when the deadline cuts off the attempt after them", async function () {
            server
                .enqueue("getCluster", spCluster)
                .enqueue(
                    "resetServicePrincipalProfile",
                    refusedReset("ServicePrincipalNotFound", notFoundInTenantMessage(NEW_CLIENT_ID, TENANT), 404),
                    { ...accepted("op-late"), delayMs: 5000 },
                );

            const started = Date.now();
            const err = await expectFailure(
                resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs: 300, tenantId: TENANT })),
                "ReplicationTimeout",
            );

            assert.ok(Date.now() - started < 2000, "the deadline ended the slow attempt");
            assert.equal(err.azureCode, "ServicePrincipalNotFound");
            assert.equal(err.statusCode, 404);
            assert.ok(err.message.includes("over 1 attempt (timeout 300ms)"), err.message);
            assert.ok(
                err.message.includes("Last refusal: HTTP 404 on the reset request: ServicePrincipalNotFound: Service principal clientID"),
                err.message,
            );
            assert.match(err.message, /The attempt after it did not complete: .*Reset request did not complete/);
            assert.match(
                err.message,
                /Azure may still finish the reset; check with "az aks show/,
                "the cut-off request may have reached Azure",
            );
        });

        it("gives up on an operation that keeps failing for replication, naming the tenant AKS reported", async function () {
            const refusal = { code: "BadRequest", message: notFoundInTenantMessage(NEW_CLIENT_ID, TENANT) };
            server.enqueue("getCluster", spCluster).setFallback("resetServicePrincipalProfile", {
                status: 202,
                headers: {
                    "azure-asyncoperation": server.asyncOperationUrl(SUB, "op-never"),
                    location: server.operationResultUrl(SUB, "op-never"),
                },
            });
            server.setFallback("operationStatus", { status: 200, body: operationStatus("Failed", refusal) });

            const err = await expectFailure(
                resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs: 400 })),
                "ReplicationTimeout",
            );

            const posts = server.requestsFor("resetServicePrincipalProfile").length;
            assert.equal(err.azureCode, "BadRequest");
            assert.equal(err.statusCode, undefined, "the operation failed, not the request");
            assert.ok(err.message.includes(`${NEW_CLIENT_ID} of tenant ${TENANT}`), err.message);
            assert.ok(
                err.message.includes("Last refusal: the accepted reset operation failed: BadRequest: Service principal clientID"),
                err.message,
            );
            // How many attempts fit depends on the machine's speed; each refused one but the last is followed by a wait.
            assert.ok(waits().length >= posts - 1, logs.join("\n"));
            assert.ok(
                waits().every((line) => line.includes("the accepted reset operation failed")),
                logs.join("\n"),
            );
        });
    });

    for (const [label, body] of [
        [
            'servicePrincipalProfile.clientId is "msi"',
            clusterResource({ subscriptionId: SUB, resourceGroupName: RG, clusterName: CLUSTER, clientId: "msi" }),
        ],
        [
            "only `identity` is set",
            clusterResource({
                subscriptionId: SUB,
                resourceGroupName: RG,
                clusterName: CLUSTER,
                identity: {
                    type: "UserAssigned",
                    userAssignedIdentities: {
                        [`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-id`]:
                            {},
                    },
                },
            }),
        ],
    ] as const) {
        it(`refuses a managed-identity cluster (${label}) without sending a POST`, async function () {
            server.enqueue("getCluster", { status: 200, body });

            const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "ManagedIdentityCluster");

            assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 0);
            assert.deepEqual(
                server.requests.map((r) => r.method),
                ["GET"],
            );
            assert.ok(err.message.includes(CLUSTER) && err.message.includes(RG) && err.message.includes(SUB), err.message);
            assert.match(err.message, /managed identity/);
            assert.match(err.message, /tenant/);
            assert.match(err.message, /az acr import/);
            assert.match(err.message, /service principal/);
        });
    }

    it("names subscription, resource group and cluster on a 404", async function () {
        server.enqueue("getCluster", {
            status: 404,
            body: armError(
                "ResourceNotFound",
                `The Resource 'Microsoft.ContainerService/managedClusters/${CLUSTER}' under resource group '${RG}' was not found.`,
            ),
        });

        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "ClusterNotFound");

        assert.ok(err.message.includes(`"${SUB}"`) && err.message.includes(`"${RG}"`) && err.message.includes(`"${CLUSTER}"`), err.message);
        assert.equal(err.azureCode, "ResourceNotFound");
        assert.equal(err.statusCode, 404);
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 0);
    });

    it("explains a 401 from ARM", async function () {
        server.enqueue("getCluster", {
            status: 401,
            headers: { "www-authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"' },
            body: armError("InvalidAuthenticationToken", "The access token is invalid."),
        });

        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "AuthorizationFailed");

        assert.equal(err.statusCode, 401);
        assert.ok(err.message.includes(`"${CLUSTER}"`), err.message);
        assert.ok(err.message.includes("Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action"), err.message);
        assert.ok(err.message.includes(`${server.endpoint}/.default`), err.message);
        assert.match(err.message, /InvalidAuthenticationToken/);
    });

    it("explains a 403 on the reset with the permission it needs", async function () {
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", {
            status: 403,
            body: armError(
                "AuthorizationFailed",
                `The client 'deployer' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action' over scope '${CLUSTER_PATH}'.`,
            ),
        });

        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection()), "AuthorizationFailed");

        assert.equal(err.statusCode, 403);
        assert.equal(err.azureCode, "AuthorizationFailed");
        assert.ok(err.message.includes(`"${CLUSTER}"`), err.message);
        assert.ok(err.message.includes("Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action"), err.message);
        assert.match(err.message, /Contributor/);
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 1, "403 is not retried");
    });

    it("gives up at timeoutMs on an operation that never finishes", async function () {
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", accepted());
        server.setFallback("operationStatus", { status: 200, body: operationStatus("InProgress") });

        const started = Date.now();
        const err = await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs: 300 })), "Timeout");
        const took = Date.now() - started;

        assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
        assert.ok(server.requestsFor("operationStatus").length >= 2);
        assert.match(err.message, /still running/);
        assert.match(err.message, /az aks show/);
        assert.ok(err.message.includes(CLUSTER));
        // A poll aborted mid-flight can still reach the server just after the rejection; let it land.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const pollsAtFailure = server.requestsFor("operationStatus").length;
        // At a 10 ms poll interval, polling that survived the timeout would add several requests here.
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(server.requestsFor("operationStatus").length, pollsAtFailure, "polling stops at the timeout");
    });

    it("does not let a long Retry-After outlive timeoutMs", async function () {
        server.enqueue("getCluster", spCluster).enqueue("resetServicePrincipalProfile", {
            status: 429,
            headers: { "retry-after": "3600" },
            body: armError("TooManyRequests", "Too many requests."),
        });

        const started = Date.now();
        await expectFailure(resetClusterServicePrincipal(TARGET, PROFILE, connection({ timeoutMs: 500 })), "Timeout");
        const took = Date.now() - started;

        assert.ok(took < 3000, `took ${took} ms`);
        assert.equal(server.requestsFor("resetServicePrincipalProfile").length, 1);
    });
});

describe("readClusterClientId (against a fake ARM server)", function () {
    const fixture = loadTlsFixture();
    let restoreTrust: () => void;
    let server: FakeArmServer;

    before(function () {
        restoreTrust = trustCertificate(fixture.cert);
    });
    after(function () {
        restoreTrust();
    });
    beforeEach(async function () {
        server = await FakeArmServer.start(fixture);
    });
    afterEach(async function () {
        await server.stop();
    });

    function connection(): ArmConnection {
        return { endpoint: `${server.endpoint}/`, credential: new StaticCredential(), pollIntervalMs: 10, timeoutMs: 5000 };
    }

    it('returns the service principal\'s client id, and "msi" for managed-identity clusters', async function () {
        server.enqueue(
            "getCluster",
            {
                status: 200,
                body: clusterResource({ subscriptionId: SUB, resourceGroupName: RG, clusterName: CLUSTER, clientId: OLD_CLIENT_ID }),
            },
            {
                status: 200,
                body: clusterResource({
                    subscriptionId: SUB,
                    resourceGroupName: RG,
                    clusterName: CLUSTER,
                    clientId: "msi",
                    identity: { type: "SystemAssigned" },
                }),
            },
            {
                status: 200,
                body: clusterResource({
                    subscriptionId: SUB,
                    resourceGroupName: RG,
                    clusterName: CLUSTER,
                    identity: { type: "SystemAssigned" },
                }),
            },
        );

        assert.equal(await readClusterClientId(TARGET, connection()), OLD_CLIENT_ID);
        assert.equal(await readClusterClientId(TARGET, connection()), "msi");
        assert.equal(await readClusterClientId(TARGET, connection()), "msi");
        assert.deepEqual(
            server.requests.map((r) => `${r.method} ${r.path}`),
            Array(3).fill(`GET ${CLUSTER_PATH}`),
        );
    });

    it("reports a missing cluster by name", async function () {
        server.enqueue("getCluster", {
            status: 404,
            body: armError("ResourceGroupNotFound", `Resource group '${RG}' could not be found.`),
        });

        const err = await expectFailure(readClusterClientId(TARGET, connection()), "ClusterNotFound");

        assert.ok(err.message.includes(SUB) && err.message.includes(RG) && err.message.includes(CLUSTER), err.message);
        assert.equal(err.azureCode, "ResourceGroupNotFound");
    });
});

describe("entraReplicationRefusal", function () {
    const notFound = notFoundInTenantMessage(NEW_CLIENT_ID, TENANT);

    it("recognises AKS's refusals of a principal or secret Entra ID has not replicated, by code and wording", function () {
        const cases: [string, string, string, string][] = [
            [
                "ServicePrincipalNotFound",
                notFound,
                "principalNotFound",
                "AKS does not find the service principal in the tenant (ServicePrincipalNotFound)",
            ],
            ["BadRequest", notFound, "principalNotFound", "AKS does not find the service principal in the tenant (BadRequest)"],
            ["invalidparameter", notFound, "principalNotFound", "AKS does not find the service principal in the tenant (invalidparameter)"],
            [
                "BadRequest",
                `Service principal clientID: ${NEW_CLIENT_ID} not found in Microsoft Entra ID tenant ${TENANT}.`,
                "principalNotFound",
                "AKS does not find the service principal in the tenant (BadRequest)",
            ],
            [
                "BadRequest",
                invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000215"),
                "secretRejected",
                "Entra ID rejects the client secret (BadRequest, AADSTS7000215)",
            ],
            [
                "ServicePrincipalValidationClientError",
                invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS700016"),
                "principalNotFound",
                "Entra ID does not find the application in the tenant (ServicePrincipalValidationClientError, AADSTS700016)",
            ],
            [
                "InvalidServicePrincipalCredential",
                `AADSTS7000229: The client application ${NEW_CLIENT_ID} is missing service principal in the tenant ${TENANT}.`,
                "principalNotFound",
                "the tenant has no service principal for the application (InvalidServicePrincipalCredential, AADSTS7000229)",
            ],
            [
                "InvalidServicePrincipalCredentials",
                "The credentials in ServicePrincipalProfile were invalid. Please see https://aka.ms/aks-sp-help for more details.",
                "credentialsInvalid",
                "AKS finds the credentials invalid (InvalidServicePrincipalCredentials)",
            ],
            ["BadRequest", "Invalid client secret is provided.", "secretRejected", "Entra ID rejects the client secret (BadRequest)"],
        ];
        for (const [code, message, kind, reason] of cases) {
            assert.deepEqual(entraReplicationRefusal({ code, message }), { kind, reason }, `${code}: ${message}`);
        }
    });

    it("leaves every other error alone", function () {
        const cases: { code?: string; message?: string }[] = [
            { code: "InvalidParameter", message: "The value of parameter servicePrincipalProfile.clientId is invalid." },
            { code: "BadRequest", message: "Changing property 'servicePrincipalProfile' is not allowed while the cluster is stopped." },
            // Right wording, but a code that says something else happened.
            { code: "AuthorizationFailed", message: notFound },
            { code: "OperationNotAllowed", message: notFound },
            { message: notFound },
            // An Entra verdict that waiting does not change: an expired secret, a disabled application.
            { code: "BadRequest", message: invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000222") },
            { code: "BadRequest", message: invalidCredentialsMessage(NEW_CLIENT_ID, TENANT, "AADSTS7000112") },
            {
                code: "ServicePrincipalValidationClientError",
                message: `Service principal ${NEW_CLIENT_ID} was rejected by Microsoft Entra ID.`,
            },
            { code: "BadRequest" },
            { code: "BadRequest", message: "" },
        ];
        for (const error of cases) {
            assert.equal(entraReplicationRefusal(error), undefined, JSON.stringify(error));
        }
    });
});

describe("resetClusterServicePrincipal module", function () {
    it("does not load @azure/arm-containerservice when imported", function () {
        const modulePath = path.join(__dirname, "..", "components", "reset", "resetClusterServicePrincipal.js");
        const script = `require(${JSON.stringify(modulePath)}); process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes("arm-containerservice"))));`;
        const stdout = execFileSync(process.execPath, ["-e", script], { timeout: 10_000, cwd: process.cwd(), encoding: "utf8" });
        assert.equal(stdout, "false");
    });

    it("exports the ARM endpoints of the Azure clouds", function () {
        assert.deepEqual(
            { ...ARM_ENDPOINTS },
            {
                public: "https://management.azure.com",
                usgovernment: "https://management.usgovcloudapi.net",
                china: "https://management.chinacloudapi.cn",
            },
        );
    });
});
