// Service Bus Standard (scheduled messages and duplicate detection need Standard or Premium) and
// the overflow queue with the properties the code assumes (tests/infra/test_servicebus_drift.py):
// - maxDeliveryCount = SERVICEBUS_MAX_DELIVERY_COUNT: a job fails after that many deliveries;
// - lockDuration 1 minute: the Service Bus default the local queue and the worker are built on
//   (the Functions host renews it up to host.json maxAutoLockRenewalDuration);
// - duplicate detection on, 10-minute window: the message id is the job id, so a resent job is
//   dropped (the local queue's DUPLICATE_WINDOW_SECONDS);
// - message time to live = GATEWAY_JOB_TTL_SECONDS: a job nobody ran by then is gone anyway.
// Keys are off (disableLocalAuth): the app's identity sends and receives with Data Sender and
// Data Receiver, and the trigger connects by identity (ServiceBusConnection__*).
param name string
param location string
param tags object
param principalId string
param queueName string
param maxDeliveryCount int
param messageTimeToLive string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: 'PT1M'
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
  }
}

var roles = [
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
]

resource grants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  name: guid(namespace.id, principalId, role)
  scope: namespace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueName string = queue.name
