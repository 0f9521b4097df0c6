// The Function App's user-assigned managed identity: every data-plane role below is granted to it,
// so no key or connection string exists anywhere (docs/security.md).
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
