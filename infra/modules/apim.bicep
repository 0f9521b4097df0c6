// API Management in front of the gateway: the API imported from apim/openapi.json (the OpenAPI
// 3.0 form of the app's document: `python -m scripts.apim_openapi`), apim/policy.xml at API
// scope, a CORS policy for the frontends at global scope, one product per business unit (the
// subscription's product decides the unit, see the policy), and the function key as a secret
// named value. Tier: docs/deploy.md says which policies each tier supports and why this one.
param name string
param location string
param tags object
@allowed(['BasicV2', 'StandardV2'])
param sku string
param publisherEmail string
param publisherName string
param functionAppName string
param functionAppHostName string
@description('Subnet for outbound VNet integration (Standard v2); empty: none.')
param subnetId string = ''
param tenantId string
param audience string
param businessUnitClaim string
param businessUnits array
param corsOrigins array
param tokensPerMinute int
param callsPerMinute int

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

var integrated = !empty(subnetId)

resource service 'Microsoft.ApiManagement/service@2024-05-01' = {
  // checkov:skip=CKV_AZURE_107: Standard v2 gets outbound VNet integration (network.bicep); inbound stays public for browsers
  // checkov:skip=CKV_AZURE_174: APIM is the public front door of the API; callers need a subscription key and an Entra token
  name: name
  location: location
  tags: tags
  sku: { name: sku, capacity: 1 }
  identity: { type: 'SystemAssigned' }
  properties: union({
    publisherEmail: publisherEmail
    publisherName: publisherName
    publicNetworkAccess: 'Enabled'
    customProperties: {
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
      'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'false'
    }
  }, integrated ? {
    virtualNetworkType: 'External'
    virtualNetworkConfiguration: { subnetResourceId: subnetId }
  } : {})
}

// Named values the policy reads ({{name}}). The function key is the host's default key, read at
// deployment time and stored as a secret (encrypted by APIM, never in an output).
resource functionKey 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: service
  name: 'genai-gateway-function-key'
  properties: {
    displayName: 'genai-gateway-function-key'
    secret: true
    value: listKeys('${functionApp.id}/host/default', '2024-04-01').functionKeys.default
  }
}

var plainValues = [
  { name: 'genai-gateway-tenant-id', value: tenantId }
  { name: 'genai-gateway-audience', value: audience }
  { name: 'genai-gateway-business-unit-claim', value: businessUnitClaim }
  { name: 'genai-gateway-tokens-per-minute', value: string(tokensPerMinute) }
  { name: 'genai-gateway-calls-per-minute', value: string(callsPerMinute) }
]

resource namedValues 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = [for v in plainValues: {
  parent: service
  name: v.name
  properties: { displayName: v.name, secret: false, value: v.value }
}]

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: service
  name: 'genai-gateway'
  properties: {
    displayName: 'genai-gateway'
    path: 'api'
    protocols: ['https']
    serviceUrl: 'https://${functionAppHostName}/api'
    subscriptionRequired: true
    // The report's required `from` and `to` stay query parameters (APIM's default would turn
    // required query parameters into URL template parameters).
    translateRequiredQueryParameters: 'query'
    format: 'openapi+json'
    value: loadTextContent('../../apim/openapi.json')
  }
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: loadTextContent('../../apim/policy.xml')
  }
  dependsOn: [functionKey, namedValues]
}

// Browsers call these APIs from the frontends' origins: the preflight is answered here, before
// any API policy (validate-jwt would refuse an OPTIONS request, which carries no token).
resource corsPolicy 'Microsoft.ApiManagement/service/policies@2024-05-01' = {
  parent: service
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: replace(loadTextContent('../../apim/cors.xml'), '<origin>__ORIGINS__</origin>', '<origin>${join(corsOrigins, '</origin><origin>')}</origin>')
  }
}

resource products 'Microsoft.ApiManagement/service/products@2024-05-01' = [for bu in businessUnits: {
  parent: service
  name: 'bu-${bu.id}'
  properties: {
    displayName: 'GenAI ${bu.name}'
    description: 'The genai-gateway use cases for ${bu.name}; a subscription here calls as this business unit.'
    subscriptionRequired: true
    approvalRequired: true
    state: 'published'
  }
}]

resource productApis 'Microsoft.ApiManagement/service/products/apis@2024-05-01' = [for (bu, i) in businessUnits: {
  parent: products[i]
  name: api.name
}]

// One subscription per unit for operators and the smoke check (keys: docs/deploy.md).
resource subscriptions 'Microsoft.ApiManagement/service/subscriptions@2024-05-01' = [for (bu, i) in businessUnits: {
  parent: service
  name: 'bu-${bu.id}-operations'
  properties: {
    displayName: 'bu-${bu.id} operations'
    scope: '/products/${products[i].name}'
    state: 'active'
  }
}]

output gatewayUrl string = service.properties.gatewayUrl
output name string = service.name
