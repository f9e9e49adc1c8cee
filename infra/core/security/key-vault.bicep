metadata description = 'A Key Vault in RBAC mode with soft delete: no access policies, no secrets created here.'

@description('Name of the vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags {
  *: string
}

@description('Turn on purge protection. Irreversible: once on, deleted secrets and the vault itself cannot be purged before the retention period ends, so "azd down --purge" cannot free the name.')
param enablePurgeProtection bool

@description('Days a deleted vault or secret stays recoverable (7-90). Fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access is granted with Azure RBAC roles (Key Vault Secrets User / Officer), never with access policies.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The API rejects false: purge protection is either on or absent.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

@description('Name of the vault.')
output name string = vault.name

@description('URI of the vault, e.g. https://kv-abc.vault.azure.net/.')
output uri string = vault.properties.vaultUri
