metadata description = 'Every role assignment: the app\'s identity gets the data roles it needs, the deploying user (optional) gets the same plus Key Vault Secrets Officer to set the OpenAI key.'

@description('Name of the storage account holding the host\'s state, the chat queues and the jobs table.')
param storageAccountName string

@description('Name of the Key Vault holding the OpenAI key.')
param keyVaultName string

@description('Name of the Application Insights component the app sends telemetry to.')
param applicationInsightsName string

@description('Name of the app\'s user-assigned managed identity.')
param identityName string

@description('Principal (object) id of the person or pipeline running the deployment; empty grants nothing.')
param userPrincipalId string

@description('Kind of principal userPrincipalId is.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param userPrincipalType string

var grantUser = !empty(userPrincipalId)

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Built-in role definitions: the same ids in every tenant (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).

// Storage Queue Data Contributor
resource storageQueueDataContributor 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
}

// Storage Table Data Contributor
resource storageTableDataContributor 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

// Storage Blob Data Owner
resource storageBlobDataOwner 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
}

// Key Vault Secrets User
resource keyVaultSecretsUser 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: '4633458b-17de-408a-b874-0445c86b69e6'
}

// Key Vault Secrets Officer
resource keyVaultSecretsOfficer 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

// Monitoring Metrics Publisher
resource monitoringMetricsPublisher 'Microsoft.Authorization/roleDefinitions@2022-04-01' existing = {
  scope: subscription()
  name: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---- The app's identity ----

// Storage Queue Data Contributor: the host's queue trigger and the app's chat queue and its poison queue.
resource appQueueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, storageQueueDataContributor.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: storageQueueDataContributor.id
  }
}

// Storage Table Data Contributor: the jobs table.
resource appTableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, storageTableDataContributor.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: storageTableDataContributor.id
  }
}

// Storage Blob Data Owner: the host's leases and timer state (AzureWebJobsStorage) and the Flex deployment package.
resource appBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, storageBlobDataOwner.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: storageBlobDataOwner.id
  }
}

// Key Vault Secrets User: resolves the OpenAI__ApiKey Key Vault reference and serves the app's SecretClient.
resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identity.id, keyVaultSecretsUser.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: keyVaultSecretsUser.id
  }
}

// Monitoring Metrics Publisher: telemetry to Application Insights, whose local (key) auth is off.
resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: applicationInsights
  name: guid(applicationInsights.id, identity.id, monitoringMetricsPublisher.id)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: monitoringMetricsPublisher.id
  }
}

// ---- The deploying user (optional): look at queues, tables and blobs, and set the OpenAI key ----

// Storage Queue Data Contributor
resource userQueueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  scope: storage
  name: guid(storage.id, userPrincipalId, storageQueueDataContributor.id)
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: storageQueueDataContributor.id
  }
}

// Storage Table Data Contributor
resource userTableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  scope: storage
  name: guid(storage.id, userPrincipalId, storageTableDataContributor.id)
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: storageTableDataContributor.id
  }
}

// Storage Blob Data Owner
resource userBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  scope: storage
  name: guid(storage.id, userPrincipalId, storageBlobDataOwner.id)
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: storageBlobDataOwner.id
  }
}

// Key Vault Secrets Officer: "az keyvault secret set ... --name openai-api-key" after "azd up".
resource userSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantUser) {
  scope: vault
  name: guid(vault.id, userPrincipalId, keyVaultSecretsOfficer.id)
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: keyVaultSecretsOfficer.id
  }
}
