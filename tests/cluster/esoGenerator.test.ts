/**
 * The federated delivery's objects under the real External Secrets Operator (v0.20.4, built by the rig from its Go
 * module; see eso.ts): ESO's own CRD bundle on the rig's API server, its controller running out of cluster, Entra and
 * the registries' login servers played by the Azure twin's HTTPS face. The objects are built by the product's own spec
 * builders (components/deliveries/federatedPullSecret/externalSecrets.ts), so what is checked is what the delivery writes.
 *
 * Each case has its own namespace, application and registry in the twin, so every request the face recorded can be
 * told apart by its host or its answer: the application that is set up right (multitenant, homed in tenant A, a
 * service principal with AcrPull in tenant B, a federated credential for the minter of its namespace), one whose
 * credential names another service account, and one with no service principal in tenant B.
 */
import * as assert from "node:assert/strict";
import {
    acrAccessTokenSpec,
    DEFAULT_MINTER_SERVICE_ACCOUNT,
    DEFAULT_REFRESH_INTERVAL,
    EXTERNAL_SECRET_API,
    externalSecretSpec,
    federationSubject,
    GENERATOR_API,
    generatorName,
    minterAnnotations,
} from "../../components/deliveries/federatedPullSecret/externalSecrets";
import { DEFAULT_PULL_SECRET_NAME } from "../../components/pullSecretTarget/settings";
import type { TwinRequestRecord } from "../twin/https";
import { seedRegistry, type TwinRegistry } from "../twin/store";
import { type Eso, expectEsoFailure, expectEsoSecret, installEsoCrds, publishServiceAccountIssuer, startEso } from "./eso";
import { type Rig, startRig, waitFor } from "./rig";
import { seedFederatedApplication, startTwinWorld, SUBSCRIPTION_B1, TENANT_A, TENANT_B, type TwinWorld } from "./twinWorld";

const ENTRA_HOST = "login.microsoftonline.com";
const NULL_GUID_USER = "00000000-0000-0000-0000-000000000000";
/** The finalizer ESO's ExternalSecret controller adds (v0.20: `externalsecret_controller.go`). */
const ESO_FINALIZER = "externalsecrets.external-secrets.io/externalsecret-cleanup";

/** One case: a namespace with the product's objects, its application in the twin, its registry. */
interface Case {
    readonly namespace: string;
    readonly registry: TwinRegistry;
    readonly clientId: string;
}

/** Every field `sent` has, `held` has with the same value: the API server pruned nothing of what was written. */
function assertNothingPruned(held: unknown, sent: unknown, at: string): void {
    if (Array.isArray(sent)) {
        assert.ok(Array.isArray(held) && held.length === sent.length, `${at}: sent ${JSON.stringify(sent)}, held ${JSON.stringify(held)}`);
        sent.forEach((item, index) => assertNothingPruned(held[index], item, `${at}[${index}]`));
    } else if (typeof sent === "object" && sent !== null) {
        assert.ok(typeof held === "object" && held !== null, `${at}: sent an object, held ${JSON.stringify(held)}`);
        for (const [key, value] of Object.entries(sent)) assertNothingPruned((held as Record<string, unknown>)[key], value, `${at}.${key}`);
    } else {
        assert.equal(held, sent, `${at}`);
    }
}

describe(`External Secrets Operator's ACR generator, really running, with Entra played by the twin`, function () {
    this.timeout(900_000);
    let rig: Rig;
    let world: TwinWorld;
    let eso: Eso;
    let ready: Case;
    let wrongSubject: Case;
    let noPrincipal: Case;
    const stored: { readonly path: string; readonly sent: unknown; readonly held: unknown }[] = [];

    const requests = (predicate: (record: TwinRequestRecord) => boolean): TwinRequestRecord[] => world.face.requests.filter(predicate);
    const signIns = (status: number, error?: string): TwinRequestRecord[] =>
        requests(
            (r) =>
                r.method === "POST" &&
                r.host === ENTRA_HOST &&
                r.path === `/${TENANT_B}/oauth2/v2.0/token` &&
                r.status === status &&
                (error === undefined || r.error === error),
        );
    const exchanges = (registry: TwinRegistry): TwinRequestRecord[] =>
        requests((r) => r.host === registry.loginServer && r.path === "/oauth2/exchange");

    /** The product's three objects in `namespace`, for one registry, created with strict field validation. */
    async function createDelivery(namespace: string, registry: TwinRegistry, clientId: string): Promise<void> {
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
        await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
            metadata: { name: DEFAULT_MINTER_SERVICE_ACCOUNT, annotations: minterAnnotations(clientId, TENANT_B) },
        });
        const generator = {
            apiVersion: GENERATOR_API,
            kind: "ACRAccessToken",
            metadata: { name: generatorName(registry.name) },
            spec: acrAccessTokenSpec(registry.loginServer, TENANT_B, "public", DEFAULT_MINTER_SERVICE_ACCOUNT),
        };
        const externalSecret = {
            apiVersion: EXTERNAL_SECRET_API,
            kind: "ExternalSecret",
            metadata: { name: DEFAULT_PULL_SECRET_NAME },
            spec: externalSecretSpec(
                DEFAULT_PULL_SECRET_NAME,
                [{ loginServer: registry.loginServer, generator: generatorName(registry.name) }],
                DEFAULT_REFRESH_INTERVAL,
            ),
        };
        // Strict: an unknown field is refused outright instead of pruned in silence.
        const generatorPath = `/apis/${GENERATOR_API}/namespaces/${namespace}/acraccesstokens`;
        const externalSecretPath = `/apis/${EXTERNAL_SECRET_API}/namespaces/${namespace}/externalsecrets`;
        // The answer to the create is the object as stored, before ESO's controller writes to it.
        for (const [collection, object] of [
            [generatorPath, generator],
            [externalSecretPath, externalSecret],
        ] as const) {
            const created = await rig.admin.create(`${collection}?fieldValidation=Strict`, object);
            stored.push({
                path: `${collection}/${object.metadata.name}`,
                sent: object.spec,
                held: (created.body as { spec: unknown }).spec,
            });
        }
    }

    before(async function () {
        this.timeout(0);
        rig = await startRig();
        world = await startTwinWorld({ kubernetesCa: rig.ca });
        await publishServiceAccountIssuer(rig);
        await installEsoCrds(rig);
        const registry = (name: string): TwinRegistry =>
            seedRegistry(world.store, { tenantId: TENANT_B, subscriptionId: SUBSCRIPTION_B1, resourceGroupName: "rg-eso", name });
        const seedCase = (namespace: string, registryName: string, subject: string, principalTenants: string[]): Case => {
            const caseRegistry = registry(registryName);
            const clientId = seedFederatedApplication(world.store, {
                displayName: `eso ${namespace}`,
                issuer: rig.server,
                subject,
                principalTenants,
                registry: caseRegistry,
            });
            return { namespace, registry: caseRegistry, clientId };
        };
        ready = seedCase("eso-ready", "esoready", federationSubject("eso-ready", DEFAULT_MINTER_SERVICE_ACCOUNT), [TENANT_A, TENANT_B]);
        wrongSubject = seedCase("eso-wrong-subject", "esowrongsubject", federationSubject("eso-wrong-subject", "someone-else"), [
            TENANT_A,
            TENANT_B,
        ]);
        noPrincipal = seedCase(
            "eso-no-principal",
            "esonoprincipal",
            federationSubject("eso-no-principal", DEFAULT_MINTER_SERVICE_ACCOUNT),
            [TENANT_A],
        );
        eso = await startEso(rig, world.face.env());
        for (const item of [ready, wrongSubject, noPrincipal]) await createDelivery(item.namespace, item.registry, item.clientId);
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            console.log(`--- external-secrets (last 20 KB)\n${eso?.logs().slice(-20_000) ?? ""}`);
            console.log(`--- the face's requests\n${JSON.stringify(world?.face.requests ?? [], null, 1)}`);
        }
    });

    after(async function () {
        this.timeout(60_000);
        await eso?.stop();
        await world?.stop();
        await rig?.stop();
    });

    it("admits the product's ACRAccessToken and ExternalSecret under ESO's own schemas, pruning nothing", () => {
        assert.equal(stored.length, 6);
        for (const { path, sent, held } of stored) assertNothingPruned(held, sent, `${path} spec`);
    });

    it("rewrites the ExternalSecret's refreshInterval in Go's form when it adds its finalizer (ESO v0.20)", async () => {
        // ESO's reconcile adds its finalizer with a full Update of the typed object, which writes metav1.Duration back
        // as Go prints it (external-secrets/external-secrets#5390): a tool comparing the live object with "1h" sees
        // a change it did not make.
        const path = `/apis/${EXTERNAL_SECRET_API}/namespaces/${ready.namespace}/externalsecrets/${DEFAULT_PULL_SECRET_NAME}`;
        const held = await waitFor("ESO's finalizer on the ExternalSecret", 60_000, async () => {
            const found = (await rig.admin.get(path)).body as { metadata: { finalizers?: string[] }; spec: { refreshInterval: string } };
            return found.metadata.finalizers?.includes(ESO_FINALIZER) ? found : undefined;
        });
        assert.equal(DEFAULT_REFRESH_INTERVAL, "1h");
        assert.equal(held.spec.refreshInterval, "1h0m0s");
    });

    it("signs in to tenant B with the minter's token, then takes the Entra token to the registry's exchange", async () => {
        const exchange = await waitFor(`ESO's POST to https://${ready.registry.loginServer}/oauth2/exchange`, 120_000, () =>
            Promise.resolve(exchanges(ready.registry)[0]),
        );
        assert.equal(exchange.method, "POST");
        // Only this case's application may sign in: the twin's Entra verified the service account token against the
        // rig's JWKS, its issuer, subject and audience against the federated credential, and the principal in tenant B.
        const signIn = signIns(200);
        assert.equal(signIn.length >= 1, true, "no successful sign-in at tenant B's token endpoint");
        assert.ok(signIn[0].seq < exchange.seq, "the exchange came before the sign-in");
        if (exchange.status === 404) {
            // The face's registries do not serve ACR's token service (tests/twin/acr.ts plugs it in): ESO must say so.
            const failed = await expectEsoFailure(
                rig,
                ready.namespace,
                DEFAULT_PULL_SECRET_NAME,
                /generatorRef.*generate refresh token, unexpected status code 404/,
            );
            assert.equal(failed.condition.reason, "SecretSyncedError");
            const secret = await rig.admin.get(`/api/v1/namespaces/${ready.namespace}/secrets/${DEFAULT_PULL_SECRET_NAME}`);
            assert.equal(secret.status, 404, "ESO wrote a Secret although the exchange failed");
            return;
        }
        assert.equal(exchange.status, 200, `the exchange answered ${exchange.status} ${exchange.error ?? ""}`);
        const secret = await expectEsoSecret(rig, ready.namespace, DEFAULT_PULL_SECRET_NAME);
        assert.equal(secret.type, "kubernetes.io/dockerconfigjson");
        assert.deepEqual(
            secret.metadata.ownerReferences?.map((owner) => [owner.kind, owner.name, owner.controller]),
            [["ExternalSecret", DEFAULT_PULL_SECRET_NAME, true]],
        );
        const config = JSON.parse(Buffer.from(secret.data[".dockerconfigjson"], "base64").toString("utf8")) as {
            auths: Record<string, { username: string; password: string; auth: string }>;
        };
        assert.deepEqual(Object.keys(config.auths), [ready.registry.loginServer]);
        const entry = config.auths[ready.registry.loginServer];
        assert.equal(entry.username, NULL_GUID_USER);
        assert.ok(entry.password.length > 0);
        assert.equal(Buffer.from(entry.auth, "base64").toString("utf8"), `${entry.username}:${entry.password}`);
    });

    it("a federated credential for another subject: Entra answers AADSTS70021, no exchange, the ExternalSecret is not ready", async () => {
        const failed = await expectEsoFailure(rig, wrongSubject.namespace, DEFAULT_PULL_SECRET_NAME, /AADSTS70021/);
        assert.equal(failed.condition.reason, "SecretSyncedError");
        assert.ok(signIns(400, "AADSTS70021").length >= 1, "the face recorded no AADSTS70021 at tenant B's token endpoint");
        assert.deepEqual(exchanges(wrongSubject.registry), []);
    });

    it("no service principal in tenant B: Entra answers AADSTS700016, no exchange, the ExternalSecret is not ready", async () => {
        const failed = await expectEsoFailure(rig, noPrincipal.namespace, DEFAULT_PULL_SECRET_NAME, /AADSTS700016/);
        assert.equal(failed.condition.reason, "SecretSyncedError");
        assert.ok(signIns(400, "AADSTS700016").length >= 1, "the face recorded no AADSTS700016 at tenant B's token endpoint");
        assert.deepEqual(exchanges(noPrincipal.registry), []);
    });

    it("reached Entra and the registries only through the face, trusting its CA, and asked for nothing else", () => {
        const hosts = new Set(requests((r) => r.method !== "CONNECT").map((r) => r.host));
        assert.deepEqual([...hosts].sort(), [ENTRA_HOST, ready.registry.loginServer].sort());
        assert.deepEqual(
            requests((r) => r.method === "TLS" || (r.method === "CONNECT" && r.status !== 200)),
            [],
            "a refused tunnel or a failed TLS handshake",
        );
    });
});
