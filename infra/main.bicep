// genai-gateway in Azure: `azd up` creates everything below in one resource group; `azd down`
// removes it. Resources and roles: docs/deploy.md. Checked here without Azure: every file parses
// (pycep-parser), checkov passes, and tests/infra/ keeps the settings, containers, queue and
// imported API equal to what the code expects.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of the resource group and of every regional resource but Azure OpenAI.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Azure OpenAI: one account + one deployment per entry (region, model, version, sku = deployment type, capacity in 1,000 TPM, priority: lower is preferred). AOAI_DEPLOYMENTS is generated from this list.')
param aoaiDeployments array = [
  { region: 'eastus', model: 'gpt-4o-mini', version: '2024-07-18', sku: 'GlobalStandard', capacity: 30, priority: 0 }
  { region: 'swedencentral', model: 'gpt-4o-mini', version: '2024-07-18', sku: 'GlobalStandard', capacity: 30, priority: 0 }
  { region: 'westus3', model: 'gpt-4o-mini', version: '2024-07-18', sku: 'GlobalStandard', capacity: 30, priority: 0 }
]

@description('AOAI_MODELS: context window and tokenizer of each model a deployment may use.')
param aoaiModels object = {
  'gpt-4o-mini': { context_window: 128000, encoding: 'o200k_base' }
  'gpt-4o': { context_window: 128000, encoding: 'o200k_base' }
  'gpt-4.1-mini': { context_window: 1047576, encoding: 'o200k_base' }
  'gpt-35-turbo': { context_window: 16385, encoding: 'cl100k_base' }
}

@description('Business units: GATEWAY_BUSINESS_UNITS and one APIM product (bu-<id>) each.')
param businessUnits array = [
  { id: 'marketing', name: 'Marketing' }
  { id: 'legal', name: 'Legal' }
  { id: 'finance', name: 'Finance' }
]

@description('Application ID URI (or client id) of the gateway\'s Entra app registration: the audience of callers\' tokens (docs/deploy.md, "Entra ID").')
param authAudience string

@description('Token claim that names the caller\'s business unit.')
param authBusinessUnitClaim string = 'business_unit'

@description('Role that may read every unit\'s chargeback (an app role of the registration).')
param financeRole string = 'finance'

@description('GATEWAY_BUDGETS: JSON list of monthly budgets per unit (README, "Metering").')
param budgets string = '[]'

@description('GATEWAY_LOG_PROMPTS_FOR: JSON list of use case ids whose prompts may be logged.')
param logPromptsFor string = '[]'

@allowed(['BasicV2', 'StandardV2'])
@description('APIM tier. StandardV2 adds the network lock (only APIM\'s subnet reaches the app); BasicV2 relies on the function key alone. docs/deploy.md compares them.')
param apimSku string = 'StandardV2'

@description('APIM publisher e-mail (APIM sends service notices there).')
param apimPublisherEmail string

param apimPublisherName string = 'genai-gateway'

@description('Browser origins of frontends besides the Static Web App created here, e.g. https://app.contoso.com.')
param frontendOrigins array = []

@allowed(['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia'])
@description('Static Web Apps region (a few only; content is served from the global edge).')
param staticWebAppLocation string = 'eastus2'

@description('Tokens per minute per APIM subscription, counted from x-gateway-tokens-admitted.')
param tokensPerMinutePerSubscription int = 20000

@description('Calls per minute per APIM subscription.')
param callsPerMinutePerSubscription int = 120

// Flex Consumption sizing, from the sizing bench (python -m bench.sizing); docs/sizing.md has the
// measurements and the reasoning. Change them there first.
@description('Concurrent HTTP invocations per instance before another instance is added.')
param perInstanceConcurrency int = 48

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Cosmos DB serverless (pay per request, nothing at rest but storage); false: shared autoscale throughput.')
param cosmosServerless bool = true

@description('SERVICEBUS_MAX_DELIVERY_COUNT and the queue\'s maxDeliveryCount (one value, two places).')
param serviceBusMaxDeliveryCount int = 5

@description('GATEWAY_JOB_TTL_SECONDS and the queue\'s message time to live.')
param jobTtlSeconds int = 604800

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
// APIM's validate-content accepts at most 102,400 bytes; the app's own cap is set to the same.
var maxBodyBytes = 102400
var cosmosDatabase = 'genai-gateway'
var queueName = 'overflow'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-gateway-${resourceToken}', location: location, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    deploymentContainerName: deploymentContainerName
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    databaseName: cosmosDatabase
    serverless: cosmosServerless
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: 'sb-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    queueName: queueName
    maxDeliveryCount: serviceBusMaxDeliveryCount
    messageTimeToLive: 'PT${jobTtlSeconds}S'
  }
}

module openai 'modules/openai.bicep' = [for (d, i) in aoaiDeployments: {
  name: 'openai-${i}'
  scope: rg
  params: {
    name: 'oai-${resourceToken}-${i}'
    location: d.region
    tags: tags
    principalId: identity.outputs.principalId
    deploymentName: '${d.model}-${d.region}'
    model: d.model
    modelVersion: d.version
    sku: d.sku
    capacity: d.capacity
  }
}]

// AOAI_DEPLOYMENTS from the same list that created the deployments: the router's names,
// endpoints, regions and quotas (TPM = capacity x 1,000) are what Azure has.
var aoaiSetting = [for (d, i) in aoaiDeployments: {
  name: openai[i].outputs.deploymentName
  endpoint: openai[i].outputs.endpoint
  model: d.model
  region: d.region
  priority: d.priority
  tpm: d.capacity * 1000
}]

module network 'modules/network.bicep' = if (apimSku == 'StandardV2') {
  name: 'network'
  scope: rg
  params: { name: 'vnet-${resourceToken}', location: location, tags: tags }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabase: cosmos.outputs.databaseName
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    serviceBusQueueName: serviceBus.outputs.queueName
    serviceBusMaxDeliveryCount: serviceBusMaxDeliveryCount
    aoaiDeployments: string(aoaiSetting)
    aoaiModels: string(aoaiModels)
    businessUnits: string(businessUnits)
    budgets: budgets
    logPromptsFor: logPromptsFor
    maxBodyBytes: maxBodyBytes
    jobTtlSeconds: jobTtlSeconds
    authTenantId: tenant().tenantId
    authAudience: authAudience
    authBusinessUnitClaim: authBusinessUnitClaim
    financeRole: financeRole
    allowedSubnetId: apimSku == 'StandardV2' ? network.outputs.apimSubnetId : ''
    perInstanceConcurrency: perInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

module web 'modules/staticweb.bicep' = {
  name: 'web'
  scope: rg
  params: { name: 'swa-${resourceToken}', location: staticWebAppLocation, tags: tags }
}

module apim 'modules/apim.bicep' = {
  name: 'apim'
  scope: rg
  params: {
    name: 'apim-${resourceToken}'
    location: location
    tags: tags
    sku: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    functionAppName: functionApp.outputs.name
    functionAppHostName: functionApp.outputs.hostName
    subnetId: apimSku == 'StandardV2' ? network.outputs.apimSubnetId : ''
    tenantId: tenant().tenantId
    audience: authAudience
    businessUnitClaim: authBusinessUnitClaim
    businessUnits: businessUnits
    corsOrigins: concat([web.outputs.origin], frontendOrigins)
    tokensPerMinute: tokensPerMinutePerSubscription
    callsPerMinute: callsPerMinutePerSubscription
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output APIM_NAME string = apim.outputs.name
output APIM_GATEWAY_URL string = apim.outputs.gatewayUrl
output WEB_ORIGIN string = web.outputs.origin
output AUTH_AUDIENCE string = authAudience
