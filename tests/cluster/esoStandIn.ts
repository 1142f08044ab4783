/**
 * A stand-in for External Secrets Operator where the test cannot run it: ESO's two kinds the product writes, as CRDs
 * of the same names, versions and scope (without ESO's schemas), and the controller's visible effect played by the
 * test — for each ExternalSecret, after a moment, the Secret it templates (owned by it, as ESO's
 * `creationPolicy: Owner` does) and the `Ready` condition. What is proven with it is what this product writes, in
 * what order, and that `up` waits for ESO's Secret; what ESO does with the objects is read from ESO's source
 * (components/deliveries/federatedPullSecret/externalSecrets.ts).
 */
import * as assert from "node:assert/strict";
import type { Api } from "./rig";

/** A stand-in for one of ESO's CRDs: its name, group, version, kind and scope, any fields, a status subresource. */
function crd(group: string, version: string, kind: string, plural: string): Record<string, unknown> {
    return {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `${plural}.${group}` },
        spec: {
            group,
            scope: "Namespaced",
            names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
            versions: [
                {
                    name: version,
                    served: true,
                    storage: true,
                    subresources: { status: {} },
                    schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
                },
            ],
        },
    };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Installs the stand-in CRDs and waits until discovery serves them. */
export async function installStandInCrds(admin: Api): Promise<void> {
    for (const definition of [
        crd("external-secrets.io", "v1", "ExternalSecret", "externalsecrets"),
        crd("generators.external-secrets.io", "v1alpha1", "ACRAccessToken", "acraccesstokens"),
    ]) {
        const created = await admin.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", definition);
        assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    for (let tries = 0; (await admin.get("/apis/external-secrets.io/v1")).status !== 200; tries++) {
        assert.ok(tries < 100, "the ExternalSecret CRD was never served");
        await sleep(100);
    }
}

/** The played controller, running until `stop()`. */
export interface PlayedEso {
    /** When each namespace's ExternalSecret was made Ready. */
    readonly readyAt: ReadonlyMap<string, number>;
    /** Whether the namespace's `default` service account already listed the Secret when it was made Ready. */
    readonly listedBeforeReady: ReadonlyMap<string, boolean>;
    stop(): Promise<void>;
}

/** Plays ESO's controller for the ExternalSecret `secretName` in each of `namespaces`, once each. */
export function playEso(admin: Api, namespaces: readonly string[], secretName: string, delayMs = 2_000): PlayedEso {
    let stopped = false;
    const readyAt = new Map<string, number>();
    const listedBeforeReady = new Map<string, boolean>();
    const loop = (async () => {
        while (!stopped && readyAt.size < namespaces.length) {
            for (const namespace of namespaces) {
                const path = `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${secretName}`;
                const found = await admin.get(path);
                if (found.status !== 200 || readyAt.has(namespace)) continue;
                const object = found.body as { metadata: { uid: string } };
                await sleep(delayMs); // ESO takes a moment: up must wait.
                await admin.create(`/api/v1/namespaces/${namespace}/secrets`, {
                    metadata: {
                        name: secretName,
                        ownerReferences: [
                            {
                                apiVersion: "external-secrets.io/v1",
                                kind: "ExternalSecret",
                                name: secretName,
                                uid: object.metadata.uid,
                                controller: true,
                            },
                        ],
                    },
                    type: "kubernetes.io/dockerconfigjson",
                    data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
                });
                const account = await admin.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`);
                listedBeforeReady.set(
                    namespace,
                    JSON.stringify((account.body as { imagePullSecrets?: unknown }).imagePullSecrets ?? []).includes(secretName),
                );
                const status = await admin.request(
                    "PATCH",
                    `${path}/status`,
                    { status: { conditions: [{ type: "Ready", status: "True", reason: "SecretSynced", message: "Secret was synced" }] } },
                    "application/merge-patch+json",
                );
                assert.equal(status.status, 200, JSON.stringify(status.body));
                readyAt.set(namespace, Date.now());
            }
            await sleep(200);
        }
    })();
    return {
        readyAt,
        listedBeforeReady,
        stop: async () => {
            stopped = true;
            await loop;
        },
    };
}
