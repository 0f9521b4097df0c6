// The gateway: a Python 3.11 Function App on Flex Consumption, running as the user-assigned
// identity. The runtime is functionAppConfig.runtime (Flex rejects FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_WORKER_PROCESS_COUNT); the package is pulled from a blob container over the identity.
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan
// The app settings below are exactly what the app needs in Azure: tests/infra/test_app_settings_drift.py
// compares their names with shared/settings.py, so a new setting fails that test until it is added
// here (or listed there as not set in Azure, with the reason).
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageName string
param storageBlobEndpoint string
param deploymentContainerName string
param appInsightsConnectionString string
param cosmosEndpoint string
param cosmosDatabase string
param serviceBusNamespace string
param serviceBusQueueName string
param serviceBusMaxDeliveryCount int
@description('AOAI_DEPLOYMENTS: JSON built in main.bicep from the same list that created the deployments.')
param aoaiDeployments string
@description('AOAI_MODELS: JSON map model -> {context_window, encoding}.')
param aoaiModels string
@description('GATEWAY_BUSINESS_UNITS: JSON list of {id, name}.')
param businessUnits string
param budgets string
param logPromptsFor string
param maxBodyBytes int
param jobTtlSeconds int
param authTenantId string
param authAudience string
param authBusinessUnitClaim string
param financeRole string
@description('Subnet whose traffic alone may reach the app (APIM Standard v2); empty: no network lock.')
param allowedSubnetId string = ''

// Sizing: docs/sizing.md has the measurements behind these (python -m bench.sizing).
@description('Concurrent HTTP invocations per instance before Flex Consumption adds one.')
param perInstanceConcurrency int
@allowed([512, 2048, 4096])
param instanceMemoryMB int
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy exists in some regions only; set properties.zoneRedundant where it does
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

var locked = !empty(allowedSubnetId)

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: APIM calls the public endpoint; Standard v2 admits APIM's subnet only, every tier needs the function key
  // checkov:skip=CKV_AZURE_17: callers are APIM (function key, subnet rule); client certificates are not used
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; always-ready instances would cost at rest (docs/deploy.md)
  // checkov:skip=CKV_AZURE_213: instances are managed by Flex Consumption scaling; liveness is GET /api/health, which the smoke check calls
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertMode: 'Optional'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: { http: { perInstanceConcurrency: perInstanceConcurrency } }
      }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Only APIM's subnet may call the functions; the deployment (SCM) endpoint keeps its own
      // rules so `azd deploy` works, and accepts Entra tokens only (basic auth is off below).
      ipSecurityRestrictions: locked ? [
        { name: 'apim', action: 'Allow', priority: 100, vnetSubnetResourceId: allowedSubnetId }
      ] : []
      ipSecurityRestrictionsDefaultAction: locked ? 'Deny' : 'Allow'
      scmIpSecurityRestrictionsUseMain: false
    }
  }
}

resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // These checks read this resource as a web config; it holds app settings only (checked on the site above or not applicable):
  // checkov:skip=CKV_AZURE_13: app settings, not auth config; callers are checked by APIM and again by the app (jwt mode)
  // checkov:skip=CKV_AZURE_63: app settings, not web config; requests are logged to Application Insights
  // checkov:skip=CKV_AZURE_65: app settings, not web config; errors go to Application Insights, never to callers
  // checkov:skip=CKV_AZURE_66: app settings, not web config; failures are traced in Application Insights
  // checkov:skip=CKV_AZURE_80: app settings, not web config; the app runs Python 3.11, no .NET
  // checkov:skip=CKV_AZURE_88: app settings, not web config; Flex Consumption has no Azure Files content share
  // checkov:skip=CKV_AZURE_222: app settings, not web config; network access is set on the site above
  parent: site
  name: 'appsettings'
  properties: {
    // --- the Functions host ------------------------------------------------------------------
    // Host storage over the identity: no AzureWebJobsStorage connection string, no key.
    AzureWebJobsStorage__accountName: storageName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // The HTTP-streams extension (FastAPI request/response types) needs init indexing.
    PYTHON_ENABLE_INIT_INDEXING: '1'
    // The Service Bus trigger's connection, by identity; %SERVICEBUS_QUEUE_NAME% below names the queue.
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: identityClientId
    // Telemetry with an Entra token as the identity (the component has local auth off).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // One pipeline: the worker sets up Azure Monitor (host.json telemetryMode OpenTelemetry) and
    // the gateway uses its providers; these two are read by the worker too (docs/telemetry.md).
    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
    PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME: 'gateway'
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS: 'fastapi,httpx,httpx2,requests,urllib,urllib3,azure_sdk'
    // Our own SDK clients (Cosmos DB, Service Bus sender, Azure OpenAI) pick this identity.
    AZURE_CLIENT_ID: identityClientId
    // --- the gateway (shared/settings.py) ----------------------------------------------------
    GATEWAY_BUSINESS_UNITS: businessUnits
    GATEWAY_CALLER_AUTH: 'jwt'
    GATEWAY_ALLOW_TRUSTED_HEADERS_IN_AZURE: 'false'
    GATEWAY_FINANCE_ROLE: financeRole
    // = APIM's validate-content max-size (its documented maximum is 102,400 bytes).
    GATEWAY_MAX_BODY_BYTES: string(maxBodyBytes)
    GATEWAY_REQUEST_DEADLINE_SECONDS: '30.0'
    GATEWAY_MAX_INFLIGHT: '256'
    GATEWAY_SESSION_TTL_SECONDS: '86400'
    GATEWAY_SESSION_MAX_TURNS: '200'
    GATEWAY_JOB_TTL_SECONDS: string(jobTtlSeconds)
    GATEWAY_BUDGETS: budgets
    // After the request deadline, time for a paid call's usage to be written before the sweeper
    // settles it as an estimate; the sweeper's timer reads %GATEWAY_SWEEP_SCHEDULE% (the host
    // resolves it from App Settings, so it must be one).
    GATEWAY_SETTLE_SECONDS: '15.0'
    GATEWAY_SWEEP_SCHEDULE: '0 * * * * *'
    GATEWAY_LOG_PROMPTS_FOR: logPromptsFor
    AUTH_ISSUER: 'https://login.microsoftonline.com/${authTenantId}/v2.0,https://sts.windows.net/${authTenantId}/'
    AUTH_AUDIENCE: authAudience
    AUTH_JWKS_URL: 'https://login.microsoftonline.com/${authTenantId}/discovery/v2.0/keys'
    AUTH_BUSINESS_UNIT_CLAIM: authBusinessUnitClaim
    AUTH_ROLES_CLAIM: 'roles'
    AUTH_USER_CLAIM: 'oid'
    AOAI_DEPLOYMENTS: aoaiDeployments
    AOAI_MODELS: aoaiModels
    // Entra ID as the app's identity (Cognitive Services OpenAI User on every account).
    AOAI_AUTH: 'entra'
    AOAI_API_VERSION: '2024-10-21'
    AOAI_TIMEOUT_SECONDS: '60.0'
    AOAI_DEFAULT_COOLDOWN_SECONDS: '10.0'
    AOAI_BREAKER_FAILURES: '5'
    AOAI_BREAKER_OPEN_SECONDS: '30.0'
    COSMOS_ENDPOINT: cosmosEndpoint
    COSMOS_DATABASE: cosmosDatabase
    COSMOS_THROTTLE_RETRIES: '3'
    COSMOS_THROTTLE_WAIT_SECONDS: '2'
    // The infrastructure owns the schema (cosmos.bicep); the app's data role cannot create it.
    COSMOS_CREATE_CONTAINERS: 'false'
    SERVICEBUS_FULLY_QUALIFIED_NAMESPACE: serviceBusNamespace
    SERVICEBUS_QUEUE_NAME: serviceBusQueueName
    SERVICEBUS_MAX_DELIVERY_COUNT: string(serviceBusMaxDeliveryCount)
  }
}

output name string = site.name
output hostName string = site.properties.defaultHostName
