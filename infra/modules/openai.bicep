// One Azure OpenAI account in one region with one model deployment, and the Cognitive Services
// OpenAI User role for the app's identity. Keys are off (disableLocalAuth): the app calls it with
// an Entra token, which needs the custom subdomain endpoint.
// https://learn.microsoft.com/azure/ai-services/openai/how-to/managed-identity
param name string
param location string
param tags object
param principalId string
param deploymentName string
param model string
param modelVersion string
@description('Deployment type: Standard (regional), GlobalStandard or DataZoneStandard.')
param sku string
@description('Capacity in units of 1,000 tokens per minute.')
param capacity int

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: the Flex app calls it over the public endpoint; keys are off, Entra RBAC only
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  identity: { type: 'SystemAssigned' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow' }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: { name: sku, capacity: capacity }
  properties: {
    model: { format: 'OpenAI', name: model, version: modelVersion }
    versionUpgradeOption: 'NoAutoUpgrade'
  }
}

// Cognitive Services OpenAI User: call deployments, nothing else.
var openAiUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, openAiUser)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUser)
  }
}

output endpoint string = account.properties.endpoint
output deploymentName string = deployment.name
