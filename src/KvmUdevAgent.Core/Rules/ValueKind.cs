namespace KvmUdevAgent.Core.Rules;

/// <summary>What a match key's value looks like in YAML and how it is compared.</summary>
internal enum ValueKind
{
    /// <summary>One pattern string.</summary>
    Pattern,
    /// <summary>One pattern of action words (<c>add</c>, <c>remove</c>, ...).</summary>
    Action,
    /// <summary>One pattern over four lower-case hex digits (USB ids).</summary>
    HexId,
    /// <summary>A list of <c>cc:ss:pp</c> patterns; every interface of the device must match one.</summary>
    InterfaceList,
    /// <summary>A map of sysfs attribute name to pattern, all matched on one device of the parent chain.</summary>
    AttributeMap,
    /// <summary>A map of event property name to pattern.</summary>
    PropertyMap,
}
