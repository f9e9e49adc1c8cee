metadata description = 'A StorageV2 account reachable only with Microsoft Entra ID (no shared keys, no SAS, no anonymous blobs), with its blob containers, queues and tables.'

@description('Name of the account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tags applied to the account.')
param tags {
  *: string
}

@description('Blob containers to create, all private.')
param containers string[] = []

@description('Queues to create.')
param queues string[] = []

@description('Tables to create.')
param tables string[] = []

resource account 'Microsoft.Storage/storageAccounts@2026-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Identity only: account keys, and the SAS tokens signed with them, are refused.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource container 'containers' = [
      for container in containers: {
        name: container
        properties: {
          publicAccess: 'None'
        }
      }
    ]
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource queue 'queues' = [
      for queue in queues: {
        name: queue
      }
    ]
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource table 'tables' = [
      for table in tables: {
        name: table
      }
    ]
  }
}

@description('Name of the account.')
output name string = account.name

@description('Blob endpoint, e.g. https://stabc.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob
