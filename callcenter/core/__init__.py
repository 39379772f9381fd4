"""The shared core: vocabulary and small contracts every feature may import.

Nothing here imports a feature, the web app or the store."""
