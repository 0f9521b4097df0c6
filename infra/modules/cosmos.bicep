// Cosmos DB for NoSQL: the account, the database and every container the adapters use, with the
// same ids, partition keys, TTL and indexing policy as shared/adapters/cosmos_containers.py
// (reasons in docs/cosmos.md; tests/infra/test_cosmos_drift.py keeps the two equal). The
// infrastructure owns the schema: the app runs with COSMOS_CREATE_CONTAINERS=false, since its
// data-plane role cannot create containers. Keys are off (disableLocalAuth): the app's identity
// gets the built-in Data Contributor role, a Cosmos SQL role assignment, not an Azure RBAC one.
// https://learn.microsoft.com/azure/cosmos-db/how-to-setup-rbac
param name string
param location string
param tags object
param principalId string
param databaseName string

@description('Serverless bills per request and storage only (nothing at rest beyond storage). Off: a shared autoscale database throughput.')
param serverless bool = true

@description('Autoscale maximum RU/s of the database when serverless is off.')
param autoscaleMaxThroughput int = 1000

var containers = [
  {
    id: 'completion_cache'
    partitionKey: { paths: ['/key'], kind: 'Hash', version: 2 }
    defaultTtl: -1
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] }
  }
  {
    id: 'sessions'
    partitionKey: { paths: ['/business_unit', '/id'], kind: 'MultiHash', version: 2 }
    defaultTtl: -1
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] }
  }
  {
    id: 'usage_ledger'
    partitionKey: { paths: ['/pk'], kind: 'Hash', version: 2 }
    indexingPolicy: {
      indexingMode: 'consistent'
      includedPaths: [{ path: '/pk/?' }, { path: '/created_at/?' }]
      excludedPaths: [{ path: '/*' }]
    }
  }
  {
    id: 'jobs'
    partitionKey: { paths: ['/business_unit'], kind: 'Hash', version: 2 }
    defaultTtl: -1
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] }
  }
  {
    id: 'counters'
    partitionKey: { paths: ['/partition'], kind: 'Hash', version: 2 }
    defaultTtl: -1
    indexingPolicy: { indexingMode: 'consistent', includedPaths: [], excludedPaths: [{ path: '/*' }] }
  }
  {
    id: 'usage_intents'
    partitionKey: { paths: ['/business_unit'], kind: 'Hash', version: 2 }
    indexingPolicy: {
      indexingMode: 'consistent'
      includedPaths: [{ path: '/business_unit/?' }, { path: '/deadline/?' }]
      excludedPaths: [{ path: '/*' }]
    }
  }
  {
    id: 'usage_rollups'
    partitionKey: { paths: ['/business_unit'], kind: 'Hash', version: 2 }
    indexingPolicy: {
      indexingMode: 'consistent'
      includedPaths: [{ path: '/business_unit/?' }, { path: '/day/?' }]
      excludedPaths: [{ path: '/*' }]
    }
  }
  {
    // The semantic cache (docs/semantic_cache.md): a vector policy and an exact (flat) vector
    // index, which can only be set when the container is created; needs the account capability
    // EnableNoSQLVectorSearch below. https://learn.microsoft.com/azure/cosmos-db/nosql/vector-search
    id: 'semantic_cache'
    partitionKey: { paths: ['/partition'], kind: 'Hash', version: 2 }
    defaultTtl: -1
    indexingPolicy: {
      indexingMode: 'consistent'
      includedPaths: [{ path: '/partition/?' }, { path: '/expires_at/?' }]
      excludedPaths: [{ path: '/*' }, { path: '/vector/*' }]
      vectorIndexes: [{ path: '/vector', type: 'flat' }]
    }
    vectorEmbeddingPolicy: {
      vectorEmbeddings: [
        { path: '/vector', dataType: 'float32', distanceFunction: 'cosine', dimensions: 256 }
      ]
    }
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  // checkov:skip=CKV_AZURE_101: Flex instances reach it over the public endpoint, limited to Azure datacenters (ipRules); keys are off
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [{ locationName: location, failoverPriority: 0, isZoneRedundant: false }]
    enableMultipleWriteLocations: false
    // Vector search for the semantic cache's container (VectorDistance queries).
    capabilities: concat(serverless ? [{ name: 'EnableServerless' }] : [], [{ name: 'EnableNoSQLVectorSearch' }])
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    // 0.0.0.0 = connections from Azure datacenters only (the Function App's outbound addresses),
    // not from the internet: https://learn.microsoft.com/azure/cosmos-db/how-to-configure-firewall
    ipRules: [{ ipAddressOrRange: '0.0.0.0' }]
    backupPolicy: {
      type: 'Periodic'
      periodicModeProperties: { backupIntervalInMinutes: 240, backupRetentionIntervalInHours: 8 }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
    options: serverless ? {} : { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [for c in containers: {
  parent: database
  name: c.id
  properties: {
    resource: c
  }
}]

// Cosmos DB Built-in Data Contributor: read and write items, no control plane.
var dataContributor = '00000000-0000-0000-0000-000000000002'

resource dataAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: account
  name: guid(account.id, principalId, dataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributor}'
    principalId: principalId
    scope: account.id
  }
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
