/**
 * The cluster binding under the real engine: Pulumi serializes the dynamic provider into the state, and its provider
 * host (a separate node process the engine starts) deserializes and runs it against the fake ARM server, which is
 * also the Entra authority. Create, a rotation (update), a refused update, refresh, and delete under two policies.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { FakeArmServer, armError, clusterResponse, loadTlsFixture, type FakeArmResponse } from "../fakeArm";
import { rigBinaries } from "./rig";
import { PulumiWorkspace } from "./pulumi";

const TENANT = "aaaaaaaa-0000-4000-8000-00000000000a";
const SUB = "0b1f6471-1bf0-4dda-aec3-111122223333";
const RG = "rg-aks";
const CLUSTER = "aks-prod";
const OLD_CLIENT = "11111111-aaaa-4bbb-8ccc-000000000001";
const APP_CLIENT = "22222222-aaaa-4bbb-8ccc-000000000002";
const SIGN_IN_CLIENT = "55555555-aaaa-4bbb-8ccc-000000000005";
const SECRET_1 = "binding-SECRET~engine.1";
const SECRET_2 = "binding-SECRET~engine.2";
const SECRET_3 = "binding-SECRET~engine.3";
const SIGN_IN_SECRET = "sign-in-SECRET~engine";
const ACCESS_TOKEN = "fake-entra-token-for-the-engine-test";
/** A dynamic resource's type token: the provider package, then the module and type the class names. */
const BINDING_TYPE = "pulumi-nodejs:dynamic/aks-acr-cross-tenant:ClusterCredentialBinding";
const ALL_SECRETS = [SECRET_1, SECRET_2, SECRET_3, SIGN_IN_SECRET, ACCESS_TOKEN];

describe("ClusterCredentialBinding under the Pulumi engine, against a fake ARM", function () {
    this.timeout(300_000);
    let server: FakeArmServer;
    let workspace: PulumiWorkspace;

    function cluster(clientId: string): FakeArmResponse {
        return clusterResponse(SUB, RG, CLUSTER, clientId);
    }

    /** Neither a command's output nor the state holds any secret in plain text. */
    async function assertNoSecretLeaked(output: string): Promise<void> {
        const state = JSON.stringify(await workspace.state());
        for (const secret of ALL_SECRETS) {
            assert.ok(!output.includes(secret), `the command printed ${secret}:\n${output}`);
            assert.ok(!state.includes(secret), `the state holds ${secret} in plain text`);
        }
    }

    before(async function () {
        this.timeout(0);
        const fixture = loadTlsFixture();
        server = (await FakeArmServer.start(fixture)).actAsAuthority(ACCESS_TOKEN);
        // The provider host is another process: it trusts the fake's certificate through the environment.
        const certFile = path.resolve(__dirname, "..", "..", "..", "tests", "fixtures", "fake-arm-cert.pem");
        workspace = await PulumiWorkspace.create(rigBinaries(), "binding", { NODE_EXTRA_CA_CERTS: certFile });
        await workspace.setAllConfig(
            {
                subscriptionId: SUB,
                resourceGroupName: RG,
                clusterName: CLUSTER,
                tenantId: TENANT,
                clientId: APP_CLIENT,
                secret: SECRET_1,
                signInClientId: SIGN_IN_CLIENT,
                signInClientSecret: SIGN_IN_SECRET,
                armEndpoint: server.endpoint,
            },
            ["secret", "signInClientSecret"],
        );
    });
    after(async () => {
        workspace?.dispose();
        await server?.stop();
    });

    it("preview plans the binding without calling the reset", async () => {
        server.setFallback("getCluster", cluster(OLD_CLIENT));
        const result = await workspace.preview();
        assert.match(
            result.output,
            /\+ pulumi-nodejs:dynamic\/aks-acr-cross-tenant:ClusterCredentialBinding: \(create\)\n\s+\[urn=\S+::rig-binding\]/,
            result.output,
        );
        assert.deepEqual(server.resetBodies(), [], "a preview reset the cluster");
    });

    it("up switches the cluster from inside the serialized provider, signed in at the authority", async () => {
        server.acceptReset(SUB, "op-create");
        const result = await workspace.up();
        assert.deepEqual(server.resetBodies(), [{ clientId: APP_CLIENT, secret: SECRET_1 }]);
        server.setFallback("getCluster", cluster(APP_CLIENT));
        for (const token of server.tokenRequests()) {
            assert.equal(token.clientId, SIGN_IN_CLIENT);
            assert.equal(token.tenant, TENANT);
            assert.equal(token.scope, `${server.endpoint}/.default`);
        }
        const outputs = await workspace.outputs();
        assert.equal(outputs.clusterClientId, APP_CLIENT);
        const binding = (await workspace.state()).deployment.resources?.find((r) => r.type === BINDING_TYPE);
        assert.ok(binding, "no dynamic resource in the state");
        assert.equal(typeof binding.outputs?.__provider, "string", "the state holds no serialized provider");
        await assertNoSecretLeaked(result.output);
    });

    it("refresh reads the cluster and finds no drift", async () => {
        const before = server.requestsFor("getCluster").length;
        const result = await workspace.expectSuccess([
            "refresh",
            "--stack",
            workspace.stack,
            "--non-interactive",
            "--yes",
            "--skip-preview",
        ]);
        assert.ok(server.requestsFor("getCluster").length > before, "refresh did not read the cluster");
        assert.doesNotMatch(result.output, /updated/, result.output);
    });

    it("a new secret is a rotation: an in-place update that resets the cluster with it", async () => {
        await workspace.setConfig("secret", SECRET_2, { secret: true });
        server.acceptReset(SUB, "op-rotate");
        const result = await workspace.up();
        assert.match(result.output, /1 updated/, result.output);
        assert.deepEqual(server.resetBodies().slice(-1), [{ clientId: APP_CLIENT, secret: SECRET_2 }]);
        await assertNoSecretLeaked(result.output);
    });

    it("a refused update fails the up with Azure's reason, redacted, and keeps the last good state", async () => {
        await workspace.setConfig("secret", SECRET_3, { secret: true });
        server.enqueue("resetServicePrincipalProfile", {
            status: 400,
            body: armError("InvalidParameter", `The secret '${SECRET_3}' is not valid for client ${APP_CLIENT}`),
        });
        const resets = server.resetBodies().length;
        const result = await workspace.expectFailure(["up", "--stack", workspace.stack, "--non-interactive", "--yes", "--skip-preview"]);
        assert.equal(server.resetBodies().length, resets + 1, "the refused reset was retried or never sent");
        assert.match(result.output, /InvalidParameter/, result.output);
        assert.match(result.output, /The secret '\*\*\*' is not valid/, result.output);
        await assertNoSecretLeaked(result.output);
        await workspace.setConfig("secret", SECRET_2, { secret: true });
    });

    it("destroy with the default policy refuses, naming the choices, and resets nothing", async () => {
        const resets = server.resetBodies().length;
        const result = await workspace.expectFailure([
            "destroy",
            "--stack",
            workspace.stack,
            "--non-interactive",
            "--yes",
            "--skip-preview",
        ]);
        assert.match(result.output, /Refusing to delete the credential binding of AKS cluster rg-aks\/aks-prod/, result.output);
        assert.match(result.output, /clusterDeletePolicy: restore/, result.output);
        assert.equal(server.resetBodies().length, resets);
        const names = ((await workspace.state()).deployment.resources ?? []).map((r) => r.type);
        assert.ok(names.includes(BINDING_TYPE), "the refused delete dropped the binding from the state");
    });

    it("with deletePolicy leave, up stores the choice without a reset and destroy leaves the cluster as it is", async () => {
        await workspace.setConfig("deletePolicy", "leave");
        const resets = server.resetBodies().length;
        await workspace.up();
        assert.equal(server.resetBodies().length, resets, "storing a delete policy reset the cluster");
        const result = await workspace.destroy();
        assert.equal(server.resetBodies().length, resets, "a leave delete reset the cluster");
        assert.match(result.output, /deleted/, result.output);
        assert.deepEqual(
            server.unscripted.map((r) => `${r.method} ${r.path}`),
            [],
            "the provider sent a request the test did not script",
        );
    });
});
