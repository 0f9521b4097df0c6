// The network lock between APIM and the Function App (Standard v2 only): APIM's outbound traffic
// leaves through a subnet of this virtual network (outbound VNet integration), the subnet has the
// Microsoft.Web service endpoint, and the Function App's access restriction admits that subnet
// alone. Basic v2 and Consumption have no outbound VNet integration, and their outbound IPs are
// shared and not in the ApiManagement service tag (that tag is control-plane only), so for them
// the function key is the only lock. docs/deploy.md has the table.
// https://learn.microsoft.com/azure/api-management/integrate-vnet-outbound
param name string
param location string
param tags object

resource nsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${name}-apim'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: ['10.60.0.0/24'] }
    subnets: [
      {
        name: 'apim'
        properties: {
          addressPrefix: '10.60.0.0/27'
          networkSecurityGroup: { id: nsg.id }
          serviceEndpoints: [{ service: 'Microsoft.Web' }]
          delegations: [
            { name: 'apim', properties: { serviceName: 'Microsoft.Web/serverFarms' } }
          ]
        }
      }
    ]
  }
}

output apimSubnetId string = '${vnet.id}/subnets/apim'
