import * as assert from "node:assert/strict";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs } from "@pulumi/policy";
import {
    APPLICATION,
    APPLICATION_PASSWORD,
    ROLE_ASSIGNMENT,
    SERVICE_PRINCIPAL,
    crossTenantApplicationsAreMultitenant,
    passwordsExpireWithinMaximum,
    policies,
    pullRoleConditionsLimitRepositories,
    pullRolesAtRegistryScope,
    roleAssignmentsSetPrincipalType,
} from "../policy/policies";
import { repositoryCondition } from "../components/registryAccess";

const REGISTRY =
    "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso1";
const ACR_PULL =
    "/subscriptions/44444444-4444-4444-4444-444444444444/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d";

function resourceArgs(type: string, props: Record<string, unknown>, config: Record<string, unknown> = {}): ResourceValidationArgs {
    return {
        type,
        props,
        urn: `urn:pulumi:test::aks-acr-cross-tenant::${type}::r`,
        name: "r",
        opts: {} as ResourceValidationArgs["opts"],
        stackTags: new Map(),
        getConfig: <T>() => config as T,
        isType: () => false,
        asType: () => undefined,
        notApplicable: () => undefined,
    } as unknown as ResourceValidationArgs;
}

async function violations(policy: ResourceValidationPolicy, args: ResourceValidationArgs): Promise<string[]> {
    const found: string[] = [];
    const validate = policy.validateResource;
    assert.ok(typeof validate === "function");
    await validate(args, (message) => found.push(message));
    return found;
}

describe("policy pack", () => {
    it("ships every policy, each mandatory", () => {
        assert.deepEqual(
            policies.map((p) => [p.name, p.enforcementLevel]),
            [
                ["role-assignment-sets-principal-type", "mandatory"],
                ["pull-roles-at-registry-scope", "mandatory"],
                ["pull-role-conditions-limit-repositories", "mandatory"],
                ["application-password-expires-within-maximum", "mandatory"],
                ["cross-tenant-application-is-multitenant", "mandatory"],
            ],
        );
    });

    it("role assignments must set principalType", async () => {
        assert.deepEqual(
            await violations(
                roleAssignmentsSetPrincipalType,
                resourceArgs(ROLE_ASSIGNMENT, { scope: REGISTRY, roleDefinitionId: ACR_PULL, principalType: "ServicePrincipal" }),
            ),
            [],
        );
        assert.match(
            (
                await violations(
                    roleAssignmentsSetPrincipalType,
                    resourceArgs(ROLE_ASSIGNMENT, { scope: REGISTRY, roleDefinitionId: ACR_PULL }),
                )
            )[0],
            /does not set principalType/,
        );
    });

    it("pull roles only at registry scope", async () => {
        assert.deepEqual(
            await violations(pullRolesAtRegistryScope, resourceArgs(ROLE_ASSIGNMENT, { scope: REGISTRY, roleDefinitionId: ACR_PULL })),
            [],
        );
        const wide = await violations(
            pullRolesAtRegistryScope,
            resourceArgs(ROLE_ASSIGNMENT, {
                scope: "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg",
                roleDefinitionId: ACR_PULL.toUpperCase(),
            }),
        );
        assert.match(wide[0], /grants a registry pull role at \/subscriptions\/.*\/resourceGroups\/rg; grant it on each registry/);
        // Other roles at wide scopes are not this policy's business.
        assert.deepEqual(
            await violations(
                pullRolesAtRegistryScope,
                resourceArgs(ROLE_ASSIGNMENT, {
                    scope: "/subscriptions/x",
                    roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
                }),
            ),
            [],
        );
    });

    it("conditions on pull roles are repository limits on Repository Reader, exactly as the component writes them", async () => {
        const reader = ACR_PULL.replace("7f951dda-4ed3-4680-a7ca-43fe172d538d", "b93aa761-3e63-49ed-ac28-beffa264f7ac");
        const condition = repositoryCondition({ repositories: ["base/nginx"], prefixes: ["team-a/"] });
        const check = (props: Record<string, unknown>): Promise<string[]> =>
            violations(pullRoleConditionsLimitRepositories, resourceArgs(ROLE_ASSIGNMENT, { scope: REGISTRY, ...props }));
        // What the component declares passes: the conditioned Reader, and both roles without a condition.
        assert.deepEqual(await check({ roleDefinitionId: reader, condition, conditionVersion: "2.0" }), []);
        assert.deepEqual(await check({ roleDefinitionId: reader }), []);
        assert.deepEqual(await check({ roleDefinitionId: ACR_PULL }), []);
        assert.match((await check({ roleDefinitionId: ACR_PULL, condition, conditionVersion: "2.0" }))[0], /a condition on AcrPull/);
        const [loose] = await check({
            roleDefinitionId: reader,
            condition:
                "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'team-a/'))",
            conditionVersion: "1.0",
        });
        assert.match(
            loose,
            /conditionVersion is "1\.0", not "2\.0"; it does not restrict Microsoft\.ContainerRegistry\/registries\/repositories\/metadata\/read/,
        );
        const [elsewhere] = await check({
            roleDefinitionId: reader,
            condition: condition.replaceAll("@Request[Microsoft.ContainerRegistry/registries/repositories:name]", "@Resource[x]"),
            conditionVersion: "2.0",
        });
        assert.match(elsewhere, /does not match on @Request\[Microsoft\.ContainerRegistry\/registries\/repositories:name\]/);
    });

    it("application passwords expire within the configured maximum", async () => {
        const inDays = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString();
        const config = { maxLifetimeDays: 365 };
        assert.deepEqual(
            await violations(passwordsExpireWithinMaximum, resourceArgs(APPLICATION_PASSWORD, { endDate: inDays(180) }, config)),
            [],
        );
        assert.match(
            (await violations(passwordsExpireWithinMaximum, resourceArgs(APPLICATION_PASSWORD, { endDate: inDays(400) }, config)))[0],
            /more than 365 days from now/,
        );
        assert.match((await violations(passwordsExpireWithinMaximum, resourceArgs(APPLICATION_PASSWORD, {}, config)))[0], /has no endDate/);
        assert.deepEqual(passwordsExpireWithinMaximum.configSchema?.properties.maxLifetimeDays, {
            type: "integer",
            default: 730,
            minimum: 1,
        });
    });

    describe("cross-tenant application is multitenant", () => {
        function provider(tenantId: string): PolicyResource["provider"] {
            return { type: "pulumi:providers:azuread", props: { tenantId }, urn: `urn:provider:${tenantId}`, name: tenantId };
        }
        function stack(signInAudience: string | undefined, secondTenant: string): StackValidationArgs {
            const app = {
                type: APPLICATION,
                props: { signInAudience },
                urn: "urn:app",
                name: "app",
                provider: provider("tenant-a"),
                dependencies: [],
            } as unknown as PolicyResource;
            const principal = (name: string, tenant: string): PolicyResource =>
                ({
                    type: SERVICE_PRINCIPAL,
                    props: {},
                    urn: `urn:${name}`,
                    name,
                    provider: provider(tenant),
                    dependencies: [app],
                }) as unknown as PolicyResource;
            return {
                resources: [app, principal("sp-a", "tenant-a"), principal("sp-b", secondTenant)],
                stackTags: new Map(),
            } as unknown as StackValidationArgs;
        }
        async function stackViolations(args: StackValidationArgs): Promise<string[]> {
            const found: string[] = [];
            await crossTenantApplicationsAreMultitenant.validateStack(args, (message) => found.push(message));
            return found;
        }

        it("passes a multitenant application with a principal in another tenant", async () => {
            assert.deepEqual(await stackViolations(stack("AzureADMultipleOrgs", "tenant-b")), []);
        });

        it("fails a single-tenant application with a principal in another tenant", async () => {
            const [message] = await stackViolations(stack(undefined, "tenant-b"));
            assert.match(
                message,
                /Application "app" has a service principal in another tenant \(sp-b\) but signInAudience is AzureADMyOrg/,
            );
        });

        it("leaves single-tenant applications used in their own tenant alone", async () => {
            assert.deepEqual(await stackViolations(stack("AzureADMyOrg", "tenant-a")), []);
        });
    });
});
