metadata description = 'A user-assigned managed identity: the one identity the app uses for Storage, Key Vault and Application Insights.'

@description('Name of the identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags {
  *: string
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Name of the identity.')
output name string = identity.name

@description('Resource id of the identity, for a resource\'s identity block and for keyVaultReferenceIdentity.')
output resourceId string = identity.id

@description('Client (application) id of the identity, for SDK credentials and identity-based connection settings.')
output clientId string = identity.properties.clientId

@description('Object (principal) id of the identity, for role assignments.')
output principalId string = identity.properties.principalId
