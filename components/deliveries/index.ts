/**
 * The table of deliveries: the one place that names them. The component, the stack config, the validator and the
 * docs generator know a delivery only through this table and the interface in `delivery.ts`. Adding a delivery is
 * a folder beside these and a line here (and its library argument in `DeliveryArguments`, which carries its JSDoc).
 * Order matters: it is the order of `credentialDelivery`'s form, of the config keys and of the docs' tables.
 */
import type { AnyDelivery } from "./delivery";
import { clusterServicePrincipal, type ClusterToBind } from "./clusterServicePrincipal";
import { imagePullSecret, type ImagePullSecretDelivery } from "./imagePullSecret";
import { federatedPullSecret, type FederatedPullSecretDelivery } from "./federatedPullSecret";
import { none } from "./none";

export const DELIVERIES = [clusterServicePrincipal, imagePullSecret, federatedPullSecret, none] as const;

/** The deliveries, erased to the one interface. */
export const DELIVERY_TABLE: readonly AnyDelivery[] = DELIVERIES;

/** A `credentialDelivery` value. */
export type CredentialDelivery = (typeof DELIVERIES)[number]["name"];

/** The stack settings of the chosen delivery, one of each delivery's. */
export type DeliverySettings = ReturnType<(typeof DELIVERIES)[number]["settings"]>;

/** The delivery named `name`, if any. */
export function deliveryNamed(name: string): AnyDelivery | undefined {
    return DELIVERY_TABLE.find((delivery) => delivery.name === name);
}

/** The library arguments that choose a delivery, one per delivery that has one (at most one may be given). */
export interface DeliveryArguments {
    /**
     * Delivery by the cluster's service principal: switch this existing service-principal cluster to the
     * application's credentials, after every role assignment exists. The cluster is read first (through the
     * component's azure-native provider, whose subscription must be the cluster's) and a managed-identity cluster
     * stops the run before anything is created. Omit it for a cluster this stack owns: feed
     * `servicePrincipalProfile` to its ManagedCluster and call `bindCluster`. Not together with `imagePullSecret`.
     */
    readonly cluster?: ClusterToBind;
    /**
     * Delivery as a Kubernetes image pull secret, for any cluster (managed-identity ones included): a Secret in each
     * namespace and a reference from each service account. Not together with `cluster`.
     */
    readonly imagePullSecret?: ImagePullSecretDelivery;
    /**
     * Delivery with no secret at all: registry tokens minted in the cluster by External Secrets Operator from a
     * federated credential per namespace (the cluster's OIDC issuer must be enabled, ESO installed). The grant has no
     * password and nothing to renew. Not together with `cluster` or `imagePullSecret`.
     */
    readonly federatedPullSecret?: FederatedPullSecretDelivery;
}
