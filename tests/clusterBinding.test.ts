import * as assert from "node:assert/strict";
import { makeBindingProvider, refuseDeleteMessage, type BindingState } from "../components/reset/bindingProvider";
import {
    armError,
    clusterResponse,
    FakeArmServer,
    invalidCredentialsMessage,
    loadTlsFixture,
    refusedReset,
    StaticCredential,
    trustCertificate,
    type FakeArmResponse,
} from "./fakeArm";

const SUB = "0b1f6471-1bf0-4dda-aec3-111122223333";
const RG = "rg-aks";
const CLUSTER = "aks-prod";
const OLD_CLIENT = "11111111-aaaa-4bbb-8ccc-000000000001";
const APP_CLIENT = "22222222-aaaa-4bbb-8ccc-000000000002";
const RESTORE_CLIENT = "33333333-aaaa-4bbb-8ccc-000000000003";
const SECRET = "app-SECRET~value.1";
const ROTATED = "app-SECRET~value.2";
const RESTORE_SECRET = "restore-SECRET~value";
const TENANT = "aaaaaaaa-0000-4000-8000-00000000000a";

const staticCredential = new StaticCredential();

function state(overrides: Partial<BindingState> = {}): BindingState {
    return {
        subscriptionId: SUB,
        resourceGroupName: RG,
        clusterName: CLUSTER,
        tenantId: TENANT,
        azureEnvironment: "public",
        clientId: APP_CLIENT,
        secret: SECRET,
        deletePolicy: "refuse",
        timeoutMinutes: 60,
        useOidc: false,
        ...overrides,
    };
}

describe("ClusterCredentialBinding provider (against a fake ARM server)", () => {
    const fixture = loadTlsFixture();
    let restoreTrust: () => void;
    let server: FakeArmServer;
    let provider: ReturnType<typeof makeBindingProvider>;
    let logs: string[];

    before(() => {
        restoreTrust = trustCertificate(fixture.cert);
    });
    after(() => restoreTrust());
    beforeEach(async () => {
        server = await FakeArmServer.start(fixture);
        logs = [];
        provider = makeBindingProvider(async () => ({
            endpoint: server.endpoint,
            credential: staticCredential,
            pollIntervalMs: 10,
            timeoutMs: 10_000,
            log: (line) => logs.push(line),
        }));
    });
    afterEach(async () => {
        await server.stop();
        assert.deepEqual(server.unscripted, [], "the provider sent a request the test did not expect");
        for (const line of logs) {
            for (const secret of [SECRET, ROTATED, RESTORE_SECRET]) {
                assert.ok(!line.includes(secret), `a log line contains a secret: ${line}`);
            }
        }
    });

    function cluster(clientId: string): FakeArmResponse {
        return clusterResponse(SUB, RG, CLUSTER, clientId);
    }

    function scriptReset(operationId: string): void {
        server.acceptReset(SUB, operationId);
    }

    function resetBodies(): unknown[] {
        return server.resetBodies();
    }

    it("create switches the cluster and records the client id it used before", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        scriptReset("op-create");
        const result = await provider.create(state());
        assert.equal(
            result.id,
            `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`,
        );
        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
        assert.equal(result.outs?.clusterClientId, APP_CLIENT);
        assert.deepEqual(resetBodies(), [{ clientId: APP_CLIENT, secret: SECRET }]);
        assert.ok(
            logs.some((line) => /elapsed/.test(line)),
            `no progress line with elapsed time: ${logs.join(" | ")}`,
        );
    });

    it("create on a managed-identity cluster stops before changing anything", async () => {
        server.enqueue("getCluster", cluster("msi"));
        await assert.rejects(provider.create(state()), (error: Error) => {
            assert.match(error.message, /managed identit/i);
            assert.ok(!error.message.includes(SECRET));
            return true;
        });
        assert.deepEqual(resetBodies(), []);
    });

    it("create for a cluster made with these credentials records them without a reset", async () => {
        server.enqueue("getCluster", cluster(APP_CLIENT));
        const result = await provider.create(state({ initialCredentialsApplied: true }));
        assert.equal(result.outs?.previousClientId, APP_CLIENT);
        assert.deepEqual(resetBodies(), [], "a reset would roll the nodes of a cluster just created");
    });

    it("create for a cluster made with other credentials resets it even when told they were applied", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT)).enqueue("getCluster", cluster(OLD_CLIENT));
        scriptReset("op-initial");
        const result = await provider.create(state({ initialCredentialsApplied: true }));
        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
        assert.deepEqual(resetBodies(), [{ clientId: APP_CLIENT, secret: SECRET }]);
    });

    it("update with a rotated secret resets again in place and keeps the original previous client id", async () => {
        const olds = state({ previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });
        const news = state({ secret: ROTATED });
        const diff = await provider.diff("id", olds, news);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, [], "a new secret must update the binding, not replace it");

        server.enqueue("getCluster", cluster(APP_CLIENT));
        scriptReset("op-rotate");
        const result = await provider.update("id", olds, news);
        assert.deepEqual(resetBodies(), [{ clientId: APP_CLIENT, secret: ROTATED }]);
        assert.equal(result.outs?.previousClientId, OLD_CLIENT);
    });

    it("update of settings alone stores them without calling Azure", async () => {
        const olds = state({ previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });
        const news = state({ deletePolicy: "leave" });
        assert.deepEqual(await provider.diff("id", olds, news), { changes: true, replaces: [], deleteBeforeReplace: false });
        const result = await provider.update("id", olds, news);
        assert.equal(result.outs?.deletePolicy, "leave");
        assert.equal(server.requests.length, 0);
    });

    it("reports no change when nothing changed, and a replacement when the target cluster changes", async () => {
        const olds = state({ previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });
        assert.deepEqual(await provider.diff("id", olds, state()), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await provider.diff("id", olds, state({ resourceGroupName: RG.toUpperCase() })), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: false,
        });
        assert.deepEqual((await provider.diff("id", olds, state({ clusterName: "aks-other" }))).replaces, ["clusterName"]);
    });

    it("read reports the client id the cluster really uses, so drift shows up as a diff", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT));
        const olds = state({ previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });
        const read = await provider.read("id", olds);
        assert.equal(read.props?.clusterClientId, OLD_CLIENT);
        const diff = await provider.diff("id", read.props, state());
        assert.equal(diff.changes, true, "someone switched the cluster by hand: the next up must switch it back");
    });

    it("delete refuses by default, naming the options and no secret", async () => {
        const props = state({ previousClientId: OLD_CLIENT, clusterClientId: APP_CLIENT });
        await assert.rejects(provider.delete("id", props), (error: Error) => {
            assert.equal(error.message, refuseDeleteMessage(props));
            assert.match(error.message, /Refusing to delete the credential binding of AKS cluster rg-aks\/aks-prod/);
            assert.match(error.message, /clusterDeletePolicy: restore, with restoreClientId and restoreClientSecret/);
            assert.match(error.message, /clusterDeletePolicy: leave/);
            assert.match(error.message, new RegExp(`before this stack it used ${OLD_CLIENT}`));
            assert.ok(!error.message.includes(SECRET));
            return true;
        });
        assert.equal(server.requests.length, 0);
    });

    it("delete with leave changes nothing in Azure", async () => {
        await provider.delete("id", state({ deletePolicy: "leave" }));
        assert.equal(server.requests.length, 0);
    });

    it("delete with restore switches the cluster to the restore principal", async () => {
        server.enqueue("getCluster", cluster(APP_CLIENT));
        scriptReset("op-restore");
        await provider.delete("id", state({ deletePolicy: "restore", restoreClientId: RESTORE_CLIENT, restoreSecret: RESTORE_SECRET }));
        assert.deepEqual(resetBodies(), [{ clientId: RESTORE_CLIENT, secret: RESTORE_SECRET }]);
    });

    it("delete with restore waits for Entra ID to replicate a new restore secret, then switches the cluster", async () => {
        server
            .enqueue("getCluster", cluster(APP_CLIENT))
            .enqueue(
                "resetServicePrincipalProfile",
                refusedReset("BadRequest", invalidCredentialsMessage(RESTORE_CLIENT, TENANT, "AADSTS7000215")),
            );
        scriptReset("op-restore-after-replication");
        await provider.delete("id", state({ deletePolicy: "restore", restoreClientId: RESTORE_CLIENT, restoreSecret: RESTORE_SECRET }));
        assert.deepEqual(resetBodies(), [
            { clientId: RESTORE_CLIENT, secret: RESTORE_SECRET },
            { clientId: RESTORE_CLIENT, secret: RESTORE_SECRET },
        ]);
        assert.ok(
            logs.some((line) =>
                line.startsWith(
                    `Waiting for Entra ID to replicate application ${RESTORE_CLIENT}: Entra ID rejects the client secret (BadRequest, AADSTS7000215)`,
                ),
            ),
            `no replication wait for the restore principal: ${logs.join(" | ")}`,
        );
    });

    it("a failed reset surfaces Azure's code and message without the secret", async () => {
        server.enqueue("getCluster", cluster(OLD_CLIENT)).enqueue("resetServicePrincipalProfile", {
            status: 400,
            body: armError("InvalidParameter", "servicePrincipalProfile.clientId is invalid"),
        });
        await assert.rejects(provider.create(state()), (error: Error) => {
            assert.match(error.message, /InvalidParameter/);
            assert.match(error.message, /servicePrincipalProfile\.clientId is invalid/);
            assert.ok(!error.message.includes(SECRET));
            return true;
        });
    });
});
