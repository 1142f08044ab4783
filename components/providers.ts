/**
 * Explicit providers for one tenant. Every provider pins `tenantId` (and `subscriptionId` for azure-native):
 * an unset setting falls back to `ARM_*` environment variables and could silently act in the wrong tenant.
 */
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import type { AzureEnvironment } from "./azureIds";

/** The pair of providers that act in one tenant. */
export interface TenantProviders {
    /** Microsoft Graph (Entra ID) in the tenant. */
    readonly azuread: azuread.Provider;
    /** Azure Resource Manager in the tenant. */
    readonly azureNative: AzureNativeProvider;
}

export interface TenantProvidersArgs {
    /** Entra tenant id the providers act in. */
    readonly tenantId: string;
    /** Default subscription of the azure-native provider. */
    readonly subscriptionId: string;
    /** Azure cloud. */
    readonly environment: AzureEnvironment;
    /** Client id to sign in with; absent means ambient credentials (Azure CLI, managed identity). */
    readonly clientId?: string;
    /** Client secret for `clientId`, kept secret. */
    readonly clientSecret?: pulumi.Input<string>;
    /** Sign in with OIDC workload identity federation (GitHub Actions and other CI). */
    readonly useOidc?: boolean;
}

/** The azuread provider spells the public cloud "global". */
const AZUREAD_ENVIRONMENT: Record<AzureEnvironment, string> = { public: "global", usgovernment: "usgovernment", china: "china" };

/** Declares the azuread and azure-native providers for one tenant, named `${name}-azuread` and `${name}-azure-native`. */
export function tenantProviders(name: string, args: TenantProvidersArgs, opts?: pulumi.CustomResourceOptions): TenantProviders {
    const credentials = {
        clientId: args.clientId,
        clientSecret: args.clientSecret === undefined ? undefined : pulumi.secret(args.clientSecret),
        useOidc: args.useOidc || undefined,
    };
    return {
        azuread: new azuread.Provider(
            `${name}-azuread`,
            { tenantId: args.tenantId, environment: AZUREAD_ENVIRONMENT[args.environment], ...credentials },
            opts,
        ),
        azureNative: new AzureNativeProvider(
            `${name}-azure-native`,
            { tenantId: args.tenantId, subscriptionId: args.subscriptionId, environment: args.environment, ...credentials },
            opts,
        ),
    };
}
