/**
 * The Azure twin's `azuread` resource plugin: stands in for pulumi-azuread (the bridged
 * hashicorp/terraform-provider-azuread) at the exact version the SDK asks for, acting on Entra as the twin's store
 * holds it, in the tenant of its provider configuration.
 *
 * What it imitates, and where that was read (hashicorp/terraform-provider-azuread, v3.x, which pulumi-azuread 6.x
 * bridges; Microsoft Graph v1.0 for what the API itself refuses):
 * - `azuread:index/application:Application` (`internal/services/applications/application_resource.go`): id
 *   `/applications/<object id>`, outputs `clientId`, `objectId`, `publisherDomain`; `display_name` required and not
 *   empty, `sign_in_audience` one of AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount,
 *   PersonalMicrosoftAccount (default AzureADMyOrg), `owners` at most 100 UUIDs, `description` at most 1024
 *   characters, `tags` Optional+Computed and conflicting with `feature_tags`; only `template_id` forces a new
 *   application, everything else updates in place. Read by id: an application is visible in its home tenant only.
 * - `azuread:index/servicePrincipal:ServicePrincipal` (`internal/services/serviceprincipals/
 *   service_principal_resource.go`): `client_id` required, a UUID, forces a new principal; created in the provider's
 *   tenant; an existing principal for the client id is "A resource with the ID ... already exists" unless
 *   `use_existing`; id `/servicePrincipals/<object id>`; outputs `objectId`, `applicationTenantId`, `type`. Graph
 *   refuses an application that is neither homed in the tenant nor multitenant: `400 Request_BadRequest` "The appId
 *   '<id>' of the service principal does not reference a valid application object." (NoBackingApplicationObject).
 * - `azuread:index/applicationPassword:ApplicationPassword` (`application_password_resource.go`,
 *   `internal/helpers/credentials/credentials.go`): every argument (`application_id`, `display_name`, `start_date`,
 *   `end_date`, `end_date_relative`, `rotate_when_changed`) forces a new password; `end_date` conflicts with
 *   `end_date_relative`; dates RFC 3339; `value` Sensitive (returned as a secret), `key_id` computed; id
 *   `<application object id>/password/<key id>` (`parse.NewCredentialID`); Graph's `addPassword` defaults the end to two
 *   years after the start. An end date not after the twin's clock (`twinNow`) is refused.
 * - `azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential`
 *   (`application_federated_identity_credential_resource.go`): `application_id` and `display_name` (1-120
 *   characters) force a new credential, `audiences` at most one, `issuer`/`subject`/`description` update in place; id
 *   `<application object id>/federatedIdentityCredential/<credential id>`. Graph: at most 20 per application, names
 *   unique in the application and URL-friendly, issuer+subject unique in the application.
 *
 * Every change is written to the store's log (face `azuread`) with non-secret facts only: a password's value never.
 * Not imitated: app roles, OAuth2 scopes, certificates, owners' existence (users are not modelled), Graph's eventual
 * consistency for applications (only service principals replicate late, in the store's `replicationDelayMs`).
 */
import { randomBytes, randomInt } from "node:crypto";
import type { CheckFailure, CheckResult } from "@pulumi/pulumi/provider";
import {
    applicationByClientId,
    newGuid,
    servicePrincipalOf,
    twinNow,
    TwinError,
    type TwinApplication,
    type TwinFederatedCredential,
    type TwinPassword,
    type TwinServicePrincipal,
    type TwinState,
    type TwinStore,
} from "../store";
import { graphCall, pickInputs, sdkVersion, twinProvider, type DiffSpec, type ResourceHandler, type TwinProvider } from "./framework";
import { serve } from "./serve";
import { TwinSession } from "./session";
import { containsUnknown, isGuid, isRfc3339, knownAt, makeSecret, rfc3339, stringAt, type PropertyMap } from "./values";

/** The plugin's name and version: the SDK's own, which is what the engine asks for. */
export const AZUREAD_PLUGIN = { name: "azuread", version: sdkVersion("@pulumi/azuread") } as const;

export const APPLICATION = "azuread:index/application:Application";
export const SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal";
export const APPLICATION_PASSWORD = "azuread:index/applicationPassword:ApplicationPassword";
export const FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential";

const SIGN_IN_AUDIENCES = ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"];
const MULTITENANT_AUDIENCES = ["AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"];
const PASSWORD_DEFAULT_LIFETIME_MS = 2 * 365 * 86_400_000;
const MAX_FEDERATED_CREDENTIALS = 20;

/** Terraform's wording for a missing required argument, under the Pulumi property name. */
function missing(failures: CheckFailure[], news: PropertyMap, property: string, tfName: string, resource: string): void {
    if (news[property] === undefined || news[property] === null || (knownAt(news, property) === "" && !containsUnknown(news[property]))) {
        failures.push({
            property,
            reason: `Missing required argument. The argument "${tfName}" is required, but no definition was found. Examine values at '${resource}.${property}'.`,
        });
    }
}

function checkRfc3339(failures: CheckFailure[], news: PropertyMap, property: string, tfName: string): void {
    const value = stringAt(news, property);
    if (value !== undefined && !isRfc3339(value)) failures.push({ property, reason: `"${tfName}": invalid RFC3339 timestamp` });
}

function checkApplicationId(failures: CheckFailure[], news: PropertyMap): void {
    const value = stringAt(news, "applicationId");
    if (value !== undefined && applicationObjectId(value) === undefined) {
        failures.push({
            property: "applicationId",
            reason: `parsing "${value}": expected an application ID of the form "/applications/{applicationId}" (the \`id\` of an azuread.Application), got "${value}"`,
        });
    }
}

/** The object id in an application's resource id `/applications/<object id>`. */
export function applicationObjectId(id: string): string | undefined {
    const match = /^\/applications\/([^/]+)$/.exec(id);
    return match !== null && isGuid(match[1]) ? match[1] : undefined;
}

/** A Go duration (`240h`, `2400h30m`, `90m`, `1h30m45s`) in milliseconds, as `end_date_relative` takes it. */
function goDuration(text: string): number | undefined {
    if (!/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(text)) return undefined;
    const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    let total = 0;
    for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) total += Number(amount) * units[unit];
    return total;
}

/** A client secret shaped like Entra's: 40 characters with `Q~` at the fourth. */
function newClientSecret(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";
    const bytes = randomBytes(37);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
    return `${chars.slice(0, 3).join("")}${randomInt(10)}Q~${chars.slice(3).join("")}`;
}

/** The application homed in `tenantId` with object id `objectId`: Graph shows an application in its home tenant only. */
function homedApplication(state: TwinState, objectId: string, tenantId: string): TwinApplication {
    const app = state.applications[objectId];
    if (app === undefined || app.homeTenantId !== tenantId) {
        throw new TwinError(
            404,
            "Request_ResourceNotFound",
            `Resource '${objectId}' does not exist or one of its queried reference-property objects are not present.`,
        );
    }
    return app;
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function applicationOutputs(app: TwinApplication, inputs: PropertyMap, state: TwinState): PropertyMap {
    const web = (knownAt(inputs, "web") as PropertyMap | undefined) ?? {};
    const tenantName = state.tenants[app.homeTenantId]?.displayName ?? app.homeTenantId;
    return {
        ...inputs,
        id: `/applications/${app.objectId}`,
        objectId: app.objectId,
        clientId: app.clientId,
        displayName: app.displayName,
        signInAudience: app.signInAudience,
        owners: app.owners,
        notes: app.notes,
        tags: app.tags,
        web: { ...web, redirectUris: app.redirectUris },
        publisherDomain: `${tenantName.replace(/[^A-Za-z0-9]/g, "").toLowerCase() || "twin"}.onmicrosoft.com`,
        appRoleIds: {},
        oauth2PermissionScopeIds: {},
        disabledByMicrosoft: "",
        logoUrl: "",
    };
}

function applicationHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: [
            "api",
            "appRoles",
            "description",
            "deviceOnlyAuthEnabled",
            "displayName",
            "fallbackPublicClientEnabled",
            "featureTags",
            "groupMembershipClaims",
            "identifierUris",
            "logoImage",
            "marketingUrl",
            "notes",
            "oauth2PostResponseRequired",
            "optionalClaims",
            "owners",
            "password",
            "preventDuplicateNames",
            "privacyStatementUrl",
            "publicClient",
            "requiredResourceAccesses",
            "serviceManagementReference",
            "signInAudience",
            "singlePageApplication",
            "supportUrl",
            "tags",
            "templateId",
            "termsOfServiceUrl",
            "web",
        ],
        forceNew: ["templateId"],
        computed: ["tags", "templateId"],
        defaults: { signInAudience: "AzureADMyOrg" },
    };
    const fields = (inputs: PropertyMap) => ({
        displayName: stringAt(inputs, "displayName") ?? "",
        signInAudience: stringAt(inputs, "signInAudience") ?? "AzureADMyOrg",
        owners: stringList(knownAt(inputs, "owners")),
        redirectUris: stringList((knownAt(inputs, "web") as PropertyMap | undefined)?.redirectUris),
        notes: stringAt(inputs, "notes"),
        tags: stringList(knownAt(inputs, "tags")),
    });
    return {
        diffSpec,
        check(news): CheckResult {
            const failures: CheckFailure[] = [];
            missing(failures, news, "displayName", "display_name", "Application");
            const audience = stringAt(news, "signInAudience");
            if (audience !== undefined && !SIGN_IN_AUDIENCES.includes(audience)) {
                failures.push({
                    property: "signInAudience",
                    reason: `expected sign_in_audience to be one of ${JSON.stringify(SIGN_IN_AUDIENCES).replace(/,/g, " ")}, got ${audience}`,
                });
            }
            const owners = knownAt(news, "owners");
            if (Array.isArray(owners)) {
                if (owners.length > 100)
                    failures.push({
                        property: "owners",
                        reason: `Attribute supports 100 item maximum, but config has ${owners.length} declared.`,
                    });
                for (const owner of owners) {
                    if (typeof owner !== "string" || !isGuid(owner))
                        failures.push({ property: "owners", reason: `expected "owners" to be a valid UUID, got ${String(owner)}` });
                }
            }
            const description = stringAt(news, "description");
            if (description !== undefined && description.length > 1024) {
                failures.push({
                    property: "description",
                    reason: `expected length of description to be in the range (0 - 1024), got ${description}`,
                });
            }
            const templateId = stringAt(news, "templateId");
            if (templateId !== undefined && !isGuid(templateId))
                failures.push({ property: "templateId", reason: `expected "template_id" to be a valid UUID, got ${templateId}` });
            if (news.tags !== undefined && news.featureTags !== undefined) {
                failures.push({ property: "tags", reason: `"tags": conflicts with feature_tags` });
            }
            return { inputs: news, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const wanted = fields(inputs);
            const app = graphCall("Could not create application", () =>
                session.store.mutate((state, log) => {
                    if (inputs.preventDuplicateNames === true) {
                        const duplicate = Object.values(state.applications).find(
                            (a) => a.homeTenantId === tenantId && a.displayName === wanted.displayName,
                        );
                        if (duplicate !== undefined) {
                            throw new TwinError(
                                409,
                                "DuplicateName",
                                `\`prevent_duplicate_names\` was specified and an existing application with display name "${wanted.displayName}" was found (object id ${duplicate.objectId})`,
                            );
                        }
                    }
                    const created: TwinApplication = {
                        objectId: newGuid(),
                        clientId: newGuid(),
                        homeTenantId: tenantId,
                        ...wanted,
                        createdAt: new Date().toISOString(),
                    };
                    state.applications[created.objectId] = created;
                    log("azuread", "create application", `/applications/${created.objectId}`, {
                        tenantId,
                        clientId: created.clientId,
                        displayName: created.displayName,
                        signInAudience: created.signInAudience,
                    });
                    return { created, outs: applicationOutputs(created, inputs, state) };
                }),
            );
            return { id: `/applications/${app.created.objectId}`, outs: app.outs };
        },
        read(id, props) {
            const objectId = applicationObjectId(id);
            if (objectId === undefined) throw new Error(`parsing "${id}": an application ID is "/applications/{applicationId}"`);
            const state = session.store.read();
            const app = state.applications[objectId];
            if (app === undefined || app.homeTenantId !== session.tenantId()) return undefined;
            const outs = applicationOutputs(app, pickInputs(diffSpec, props), state);
            return { props: outs, inputs: pickInputs(diffSpec, outs) };
        },
        update(id, _olds, news) {
            const objectId = applicationObjectId(id)!;
            const wanted = fields(news);
            return graphCall(`Could not update application with object ID "${objectId}"`, () =>
                session.store.mutate((state, log) => {
                    const app = homedApplication(state, objectId, session.tenantId());
                    const changed = (Object.keys(wanted) as (keyof typeof wanted)[]).filter(
                        (key) => JSON.stringify(app[key]) !== JSON.stringify(wanted[key]),
                    );
                    Object.assign(app, wanted);
                    if (changed.length > 0)
                        log("azuread", "update application", id, {
                            tenantId: app.homeTenantId,
                            clientId: app.clientId,
                            changed: changed.join(","),
                        });
                    return applicationOutputs(app, news, state);
                }),
            );
        },
        delete(id) {
            const objectId = applicationObjectId(id)!;
            session.store.mutate((state, log) => {
                const app = state.applications[objectId];
                if (app === undefined || app.homeTenantId !== session.tenantId()) return;
                delete state.applications[objectId];
                // Its credentials go with it, and so does its service principal in its home tenant.
                for (const [keyId, password] of Object.entries(state.passwords))
                    if (password.applicationObjectId === objectId) delete state.passwords[keyId];
                for (const [credentialId, credential] of Object.entries(state.federatedCredentials)) {
                    if (credential.applicationObjectId === objectId) delete state.federatedCredentials[credentialId];
                }
                const home = servicePrincipalOf(state, app.clientId, app.homeTenantId);
                if (home !== undefined) delete state.servicePrincipals[home.objectId];
                log("azuread", "delete application", id, { tenantId: app.homeTenantId, clientId: app.clientId });
            });
        },
    };
}

function servicePrincipalOutputs(sp: TwinServicePrincipal, inputs: PropertyMap, state: TwinState): PropertyMap {
    const app = applicationByClientId(state, sp.clientId);
    return {
        accountEnabled: true,
        appRoleAssignmentRequired: false,
        tags: [],
        ...inputs,
        id: `/servicePrincipals/${sp.objectId}`,
        objectId: sp.objectId,
        clientId: sp.clientId,
        applicationTenantId: app?.homeTenantId ?? "",
        displayName: app?.displayName ?? "",
        signInAudience: app?.signInAudience ?? "",
        redirectUris: app?.redirectUris ?? [],
        servicePrincipalNames: [sp.clientId],
        type: "Application",
        appRoles: [],
        appRoleIds: {},
        oauth2PermissionScopes: [],
        oauth2PermissionScopeIds: {},
        homepageUrl: "",
        logoutUrl: "",
        samlMetadataUrl: "",
    };
}

function servicePrincipalObjectId(id: string): string {
    const match = /^\/servicePrincipals\/([^/]+)$/.exec(id);
    if (match === null) throw new Error(`parsing "${id}": a service principal ID is "/servicePrincipals/{servicePrincipalId}"`);
    return match[1];
}

function servicePrincipalHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: [
            "accountEnabled",
            "alternativeNames",
            "appRoleAssignmentRequired",
            "clientId",
            "description",
            "featureTags",
            "features",
            "loginUrl",
            "notes",
            "notificationEmailAddresses",
            "owners",
            "preferredSingleSignOnMode",
            "samlSingleSignOn",
            "tags",
            "useExisting",
        ],
        forceNew: ["clientId"],
        computed: ["tags", "featureTags", "features"],
    };
    return {
        diffSpec,
        check(news): CheckResult {
            const failures: CheckFailure[] = [];
            missing(failures, news, "clientId", "client_id", "ServicePrincipal");
            const clientId = stringAt(news, "clientId");
            if (clientId !== undefined && clientId !== "" && !isGuid(clientId))
                failures.push({ property: "clientId", reason: `expected "client_id" to be a valid UUID, got ${clientId}` });
            return { inputs: news, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const clientId = stringAt(inputs, "clientId")!;
            const result = graphCall("Could not create service principal", () =>
                session.store.mutate((state, log) => {
                    const existing = servicePrincipalOf(state, clientId, tenantId);
                    if (existing !== undefined) {
                        if (inputs.useExisting === true) return { sp: existing, outs: servicePrincipalOutputs(existing, inputs, state) };
                        throw new Error(
                            `A resource with the ID "/servicePrincipals/${existing.objectId}" already exists: To be managed via Terraform, this resource needs to be imported into the State. Please see the resource documentation for "azuread_service_principal" for more information.`,
                        );
                    }
                    const app = applicationByClientId(state, clientId);
                    if (app === undefined || (app.homeTenantId !== tenantId && !MULTITENANT_AUDIENCES.includes(app.signInAudience))) {
                        throw new TwinError(
                            400,
                            "Request_BadRequest",
                            `The appId '${clientId}' of the service principal does not reference a valid application object.`,
                        );
                    }
                    const sp: TwinServicePrincipal = { objectId: newGuid(), clientId, tenantId, createdAt: new Date().toISOString() };
                    state.servicePrincipals[sp.objectId] = sp;
                    log("azuread", "create service principal", `/servicePrincipals/${sp.objectId}`, {
                        tenantId,
                        clientId,
                        homeTenantId: app.homeTenantId,
                    });
                    return { sp, outs: servicePrincipalOutputs(sp, inputs, state) };
                }),
            );
            return { id: `/servicePrincipals/${result.sp.objectId}`, outs: result.outs };
        },
        read(id, props) {
            const state = session.store.read();
            const sp = state.servicePrincipals[servicePrincipalObjectId(id)];
            if (sp === undefined || sp.tenantId !== session.tenantId()) return undefined;
            const outs = servicePrincipalOutputs(sp, pickInputs(diffSpec, props), state);
            return { props: outs, inputs: pickInputs(diffSpec, outs) };
        },
        update(id, _olds, news) {
            const state = session.store.read();
            const sp = state.servicePrincipals[servicePrincipalObjectId(id)];
            if (sp === undefined || sp.tenantId !== session.tenantId()) {
                throw new Error(
                    `Could not update service principal "${id}": unexpected status 404 (404 Not Found) with error: Request_ResourceNotFound: Resource does not exist.`,
                );
            }
            return servicePrincipalOutputs(sp, news, state);
        },
        delete(id) {
            session.store.mutate((state, log) => {
                const sp = state.servicePrincipals[servicePrincipalObjectId(id)];
                if (sp === undefined || sp.tenantId !== session.tenantId()) return;
                delete state.servicePrincipals[sp.objectId];
                log("azuread", "delete service principal", id, { tenantId: sp.tenantId, clientId: sp.clientId });
            });
        },
    };
}

function credentialId(id: string, kind: "password" | "federatedIdentityCredential"): { readonly objectId: string; readonly subId: string } {
    const parts = id.split("/");
    if (parts.length !== 3 || parts[1] !== kind || !isGuid(parts[0]) || !isGuid(parts[2])) {
        throw new Error(`parsing "${id}": expected {objectId}/${kind}/{subId} with UUIDs`);
    }
    return { objectId: parts[0], subId: parts[2] };
}

function passwordOutputs(password: TwinPassword, inputs: PropertyMap, value: unknown): PropertyMap {
    return {
        ...inputs,
        applicationId: `/applications/${password.applicationObjectId}`,
        displayName: password.displayName,
        startDate: rfc3339(new Date(password.startDate)),
        endDate: rfc3339(new Date(password.endDate)),
        keyId: password.keyId,
        // Sensitive in the Terraform schema: a secret output, as pulumi-azuread's `additionalSecretOutputs` make it.
        ...(value === undefined ? {} : { value: makeSecret(value) }),
    };
}

function passwordHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: ["applicationId", "displayName", "endDate", "endDateRelative", "rotateWhenChanged", "startDate"],
        forceNew: ["applicationId", "displayName", "endDate", "endDateRelative", "rotateWhenChanged", "startDate"],
        computed: ["displayName", "startDate", "endDate"],
    };
    return {
        diffSpec,
        check(news): CheckResult {
            const failures: CheckFailure[] = [];
            missing(failures, news, "applicationId", "application_id", "ApplicationPassword");
            checkApplicationId(failures, news);
            checkRfc3339(failures, news, "startDate", "start_date");
            checkRfc3339(failures, news, "endDate", "end_date");
            if (news.endDate !== undefined && news.endDateRelative !== undefined) {
                failures.push({ property: "endDate", reason: `"end_date": conflicts with end_date_relative` });
            }
            const relative = stringAt(news, "endDateRelative");
            if (relative !== undefined && goDuration(relative) === undefined) {
                failures.push({ property: "endDateRelative", reason: `unable to parse \`end_date_relative\` (${relative}) as a duration` });
            }
            const rotate = knownAt(news, "rotateWhenChanged");
            if (
                rotate !== undefined &&
                (typeof rotate !== "object" ||
                    Array.isArray(rotate) ||
                    Object.values(rotate as PropertyMap).some((v) => typeof v !== "string"))
            ) {
                failures.push({ property: "rotateWhenChanged", reason: "rotate_when_changed: a map of strings is expected" });
            }
            return { inputs: news, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const applicationId = stringAt(inputs, "applicationId")!;
            const objectId = applicationObjectId(applicationId)!;
            const result = graphCall(`Adding password for application with object ID "${objectId}"`, () =>
                session.store.mutate((state, log) => {
                    homedApplication(state, objectId, tenantId);
                    const now = twinNow(state);
                    const start = stringAt(inputs, "startDate") === undefined ? now : new Date(stringAt(inputs, "startDate")!);
                    const relative = stringAt(inputs, "endDateRelative");
                    const endText = stringAt(inputs, "endDate");
                    const end =
                        endText !== undefined
                            ? new Date(endText)
                            : relative !== undefined
                              ? new Date(start.getTime() + goDuration(relative)!)
                              : new Date(start.getTime() + PASSWORD_DEFAULT_LIFETIME_MS);
                    if (end.getTime() <= now.getTime()) {
                        throw new TwinError(
                            400,
                            "Request_BadRequest",
                            `The password credential's end date ${rfc3339(end)} is in the past (now is ${rfc3339(now)}).`,
                        );
                    }
                    if (end.getTime() <= start.getTime()) {
                        throw new TwinError(
                            400,
                            "Request_BadRequest",
                            `The password credential's end date ${rfc3339(end)} is not after its start date ${rfc3339(start)}.`,
                        );
                    }
                    const password: TwinPassword = {
                        keyId: newGuid(),
                        applicationObjectId: objectId,
                        displayName: stringAt(inputs, "displayName") ?? "",
                        startDate: start.toISOString(),
                        endDate: end.toISOString(),
                        value: newClientSecret(),
                        createdAt: new Date().toISOString(),
                    };
                    state.passwords[password.keyId] = password;
                    const id = `${objectId}/password/${password.keyId}`;
                    log("azuread", "create password", id, {
                        tenantId,
                        keyId: password.keyId,
                        applicationObjectId: objectId,
                        endDate: password.endDate,
                    });
                    return { id, outs: passwordOutputs(password, inputs, password.value) };
                }),
            );
            return { id: result.id, outs: result.outs };
        },
        read(id, props) {
            const { objectId, subId } = credentialId(id, "password");
            const state = session.store.read();
            const app = state.applications[objectId];
            const password = state.passwords[subId];
            if (
                app === undefined ||
                app.homeTenantId !== session.tenantId() ||
                password === undefined ||
                password.applicationObjectId !== objectId
            )
                return undefined;
            // Graph never shows the secret text again: the value stays what the state holds.
            const outs = passwordOutputs(password, pickInputs(diffSpec, props), props.value);
            return { props: outs, inputs: pickInputs(diffSpec, outs) };
        },
        update() {
            throw new Error("An application password has no update: every argument forces a new password.");
        },
        delete(id) {
            const { objectId, subId } = credentialId(id, "password");
            session.store.mutate((state, log) => {
                const app = state.applications[objectId];
                const password = state.passwords[subId];
                if (app === undefined || app.homeTenantId !== session.tenantId() || password === undefined) return;
                delete state.passwords[subId];
                log("azuread", "delete password", id, { tenantId: app.homeTenantId, keyId: subId, applicationObjectId: objectId });
            });
        },
    };
}

function federatedOutputs(credential: TwinFederatedCredential, inputs: PropertyMap): PropertyMap {
    return {
        ...inputs,
        applicationId: `/applications/${credential.applicationObjectId}`,
        credentialId: credential.credentialId,
        displayName: credential.displayName,
        description: credential.description,
        issuer: credential.issuer,
        subject: credential.subject,
        audiences: credential.audiences,
    };
}

function federatedCredentialHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: ["applicationId", "audiences", "description", "displayName", "issuer", "subject"],
        forceNew: ["applicationId", "displayName"],
    };
    const uniqueness = (state: TwinState, objectId: string, issuer: string, subject: string, except?: string): void => {
        const clash = Object.values(state.federatedCredentials).find(
            (c) => c.applicationObjectId === objectId && c.credentialId !== except && c.issuer === issuer && c.subject === subject,
        );
        if (clash !== undefined) {
            throw new TwinError(
                400,
                "Request_BadRequest",
                `FederatedIdentityCredential with issuer '${issuer}' and subject '${subject}' already exists (${clash.displayName}): the combination must be unique in the application.`,
            );
        }
    };
    return {
        diffSpec,
        check(news): CheckResult {
            const failures: CheckFailure[] = [];
            for (const [property, tfName] of [
                ["applicationId", "application_id"],
                ["audiences", "audiences"],
                ["displayName", "display_name"],
                ["issuer", "issuer"],
                ["subject", "subject"],
            ] as const) {
                missing(failures, news, property, tfName, "ApplicationFederatedIdentityCredential");
            }
            checkApplicationId(failures, news);
            const audiences = knownAt(news, "audiences");
            if (Array.isArray(audiences) && audiences.length > 1) {
                failures.push({
                    property: "audiences",
                    reason: `Too many list items: Attribute audiences supports 1 item maximum, but config has ${audiences.length} declared.`,
                });
            }
            const name = stringAt(news, "displayName");
            if (name !== undefined && (name.length < 1 || name.length > 120)) {
                failures.push({
                    property: "displayName",
                    reason: `expected length of display_name to be in the range (1 - 120), got ${name}`,
                });
            }
            return { inputs: news, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const objectId = applicationObjectId(stringAt(inputs, "applicationId")!)!;
            const name = stringAt(inputs, "displayName")!;
            const issuer = stringAt(inputs, "issuer")!;
            const subject = stringAt(inputs, "subject")!;
            const result = graphCall(`Adding federated identity credential for application with object ID "${objectId}"`, () =>
                session.store.mutate((state, log) => {
                    homedApplication(state, objectId, tenantId);
                    const siblings = Object.values(state.federatedCredentials).filter((c) => c.applicationObjectId === objectId);
                    if (siblings.length >= MAX_FEDERATED_CREDENTIALS) {
                        throw new TwinError(
                            400,
                            "Request_BadRequest",
                            `The application already has ${siblings.length} federated identity credentials: the limit is ${MAX_FEDERATED_CREDENTIALS} per application.`,
                        );
                    }
                    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
                        throw new TwinError(
                            400,
                            "Request_BadRequest",
                            `Federated identity credential name '${name}' is not URL friendly: use letters, digits, '-' and '_'.`,
                        );
                    }
                    if (siblings.some((c) => c.displayName === name)) {
                        throw new TwinError(
                            409,
                            "Request_MultipleObjectsWithSameKeyValue",
                            `FederatedIdentityCredential with name ${name} already exists.`,
                        );
                    }
                    uniqueness(state, objectId, issuer, subject);
                    const credential: TwinFederatedCredential = {
                        credentialId: newGuid(),
                        applicationObjectId: objectId,
                        displayName: name,
                        description: stringAt(inputs, "description"),
                        issuer,
                        subject,
                        audiences: stringList(knownAt(inputs, "audiences")),
                    };
                    state.federatedCredentials[credential.credentialId] = credential;
                    const id = `${objectId}/federatedIdentityCredential/${credential.credentialId}`;
                    log("azuread", "create federated credential", id, { tenantId, credentialId: credential.credentialId, issuer, subject });
                    return { id, outs: federatedOutputs(credential, inputs) };
                }),
            );
            return { id: result.id, outs: result.outs };
        },
        read(id, props) {
            const { objectId, subId } = credentialId(id, "federatedIdentityCredential");
            const state = session.store.read();
            const app = state.applications[objectId];
            const credential = state.federatedCredentials[subId];
            if (app === undefined || app.homeTenantId !== session.tenantId() || credential === undefined) return undefined;
            const outs = federatedOutputs(credential, pickInputs(diffSpec, props));
            return { props: outs, inputs: pickInputs(diffSpec, outs) };
        },
        update(id, _olds, news) {
            const { objectId, subId } = credentialId(id, "federatedIdentityCredential");
            return graphCall(`Updating federated identity credential "${id}"`, () =>
                session.store.mutate((state, log) => {
                    homedApplication(state, objectId, session.tenantId());
                    const credential = state.federatedCredentials[subId];
                    if (credential === undefined)
                        throw new TwinError(
                            404,
                            "Request_ResourceNotFound",
                            `Resource '${subId}' does not exist or one of its queried reference-property objects are not present.`,
                        );
                    const issuer = stringAt(news, "issuer")!;
                    const subject = stringAt(news, "subject")!;
                    uniqueness(state, objectId, issuer, subject, subId);
                    Object.assign(credential, {
                        issuer,
                        subject,
                        description: stringAt(news, "description"),
                        audiences: stringList(knownAt(news, "audiences")),
                    });
                    log("azuread", "update federated credential", id, {
                        tenantId: session.tenantId(),
                        credentialId: subId,
                        issuer,
                        subject,
                    });
                    return federatedOutputs(credential, news);
                }),
            );
        },
        delete(id) {
            const { objectId, subId } = credentialId(id, "federatedIdentityCredential");
            session.store.mutate((state, log) => {
                const app = state.applications[objectId];
                if (app === undefined || app.homeTenantId !== session.tenantId() || state.federatedCredentials[subId] === undefined) return;
                delete state.federatedCredentials[subId];
                log("azuread", "delete federated credential", id, { tenantId: app.homeTenantId, credentialId: subId });
            });
        },
    };
}

/** A new azuread provider of the twin; `store` defaults to the one named by `AZURE_TWIN_STORE`. */
export function azureadProvider(options: { readonly store?: TwinStore } = {}): TwinProvider {
    const session = new TwinSession({
        face: "azuread",
        requiresTenant: true,
        publicEnvironments: ["global", "public"],
        store: options.store,
    });
    return twinProvider({
        version: AZUREAD_PLUGIN.version,
        session,
        needsTenant: true,
        resources: {
            [APPLICATION]: applicationHandler(session),
            [SERVICE_PRINCIPAL]: servicePrincipalHandler(session),
            [APPLICATION_PASSWORD]: passwordHandler(session),
            [FEDERATED_CREDENTIAL]: federatedCredentialHandler(session),
        },
    });
}

/** The provider this plugin process serves. */
export const provider: TwinProvider = azureadProvider();

if (require.main === module) {
    void serve(provider, process.argv.slice(2));
}
