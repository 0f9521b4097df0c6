// The frontend sample (frontend/: plain HTML, CSS and JavaScript modules, no build step) on
// Static Web Apps Free: nothing to pay at rest, HTTPS and a global edge included, and azd deploys
// it natively (host: staticwebapp). Its origin is added to APIM's CORS policy.
param name string
@description('Static Web Apps runs in a few regions only; the content is served from the edge.')
param location string
param tags object

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'web' })
  sku: { name: 'Free', tier: 'Free' }
  properties: {
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

output origin string = 'https://${site.properties.defaultHostname}'
output name string = site.name
