namespace KvmUdevAgent.Core.Vms;

/// <summary>Base of every failure a VM backend reports.</summary>
internal class VmException : Exception
{
    public VmException()
    {
    }

    public VmException(string message)
        : base(message)
    {
    }

    public VmException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// True when the VM cannot be reached now (monitor not connected, libvirtd down, domain shut
    /// off): nothing is wrong with the request, and the reconcile that follows the VM's return applies it.
    /// </summary>
    public virtual bool IsUnavailable => false;
}
