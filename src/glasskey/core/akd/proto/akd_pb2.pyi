from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeLabel(_message.Message):
    __slots__ = ("label_val", "label_len")
    LABEL_VAL_FIELD_NUMBER: _ClassVar[int]
    LABEL_LEN_FIELD_NUMBER: _ClassVar[int]
    label_val: bytes
    label_len: int
    def __init__(self, label_val: _Optional[bytes] = ..., label_len: _Optional[int] = ...) -> None: ...

class AzksElement(_message.Message):
    __slots__ = ("label", "value")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    label: NodeLabel
    value: bytes
    def __init__(self, label: _Optional[_Union[NodeLabel, _Mapping]] = ..., value: _Optional[bytes] = ...) -> None: ...

class SiblingProof(_message.Message):
    __slots__ = ("label", "siblings", "direction")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SIBLINGS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    label: NodeLabel
    siblings: _containers.RepeatedCompositeFieldContainer[AzksElement]
    direction: int
    def __init__(self, label: _Optional[_Union[NodeLabel, _Mapping]] = ..., siblings: _Optional[_Iterable[_Union[AzksElement, _Mapping]]] = ..., direction: _Optional[int] = ...) -> None: ...

class MembershipProof(_message.Message):
    __slots__ = ("label", "hash_val", "sibling_proofs")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    HASH_VAL_FIELD_NUMBER: _ClassVar[int]
    SIBLING_PROOFS_FIELD_NUMBER: _ClassVar[int]
    label: NodeLabel
    hash_val: bytes
    sibling_proofs: _containers.RepeatedCompositeFieldContainer[SiblingProof]
    def __init__(self, label: _Optional[_Union[NodeLabel, _Mapping]] = ..., hash_val: _Optional[bytes] = ..., sibling_proofs: _Optional[_Iterable[_Union[SiblingProof, _Mapping]]] = ...) -> None: ...

class NonMembershipProof(_message.Message):
    __slots__ = ("label", "longest_prefix", "longest_prefix_children", "longest_prefix_membership_proof")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LONGEST_PREFIX_FIELD_NUMBER: _ClassVar[int]
    LONGEST_PREFIX_CHILDREN_FIELD_NUMBER: _ClassVar[int]
    LONGEST_PREFIX_MEMBERSHIP_PROOF_FIELD_NUMBER: _ClassVar[int]
    label: NodeLabel
    longest_prefix: NodeLabel
    longest_prefix_children: _containers.RepeatedCompositeFieldContainer[AzksElement]
    longest_prefix_membership_proof: MembershipProof
    def __init__(self, label: _Optional[_Union[NodeLabel, _Mapping]] = ..., longest_prefix: _Optional[_Union[NodeLabel, _Mapping]] = ..., longest_prefix_children: _Optional[_Iterable[_Union[AzksElement, _Mapping]]] = ..., longest_prefix_membership_proof: _Optional[_Union[MembershipProof, _Mapping]] = ...) -> None: ...

class LookupProof(_message.Message):
    __slots__ = ("epoch", "value", "version", "existence_vrf_proof", "existence_proof", "marker_vrf_proof", "marker_proof", "freshness_vrf_proof", "freshness_proof", "commitment_nonce")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_VRF_PROOF_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_PROOF_FIELD_NUMBER: _ClassVar[int]
    MARKER_VRF_PROOF_FIELD_NUMBER: _ClassVar[int]
    MARKER_PROOF_FIELD_NUMBER: _ClassVar[int]
    FRESHNESS_VRF_PROOF_FIELD_NUMBER: _ClassVar[int]
    FRESHNESS_PROOF_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_NONCE_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    value: bytes
    version: int
    existence_vrf_proof: bytes
    existence_proof: MembershipProof
    marker_vrf_proof: bytes
    marker_proof: MembershipProof
    freshness_vrf_proof: bytes
    freshness_proof: NonMembershipProof
    commitment_nonce: bytes
    def __init__(self, epoch: _Optional[int] = ..., value: _Optional[bytes] = ..., version: _Optional[int] = ..., existence_vrf_proof: _Optional[bytes] = ..., existence_proof: _Optional[_Union[MembershipProof, _Mapping]] = ..., marker_vrf_proof: _Optional[bytes] = ..., marker_proof: _Optional[_Union[MembershipProof, _Mapping]] = ..., freshness_vrf_proof: _Optional[bytes] = ..., freshness_proof: _Optional[_Union[NonMembershipProof, _Mapping]] = ..., commitment_nonce: _Optional[bytes] = ...) -> None: ...

class UpdateProof(_message.Message):
    __slots__ = ("epoch", "value", "version", "existence_vrf_proof", "existence_proof", "previous_version_vrf_proof", "previous_version_proof", "commitment_nonce")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_VRF_PROOF_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_PROOF_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_VRF_PROOF_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_NONCE_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    value: bytes
    version: int
    existence_vrf_proof: bytes
    existence_proof: MembershipProof
    previous_version_vrf_proof: bytes
    previous_version_proof: MembershipProof
    commitment_nonce: bytes
    def __init__(self, epoch: _Optional[int] = ..., value: _Optional[bytes] = ..., version: _Optional[int] = ..., existence_vrf_proof: _Optional[bytes] = ..., existence_proof: _Optional[_Union[MembershipProof, _Mapping]] = ..., previous_version_vrf_proof: _Optional[bytes] = ..., previous_version_proof: _Optional[_Union[MembershipProof, _Mapping]] = ..., commitment_nonce: _Optional[bytes] = ...) -> None: ...

class HistoryProof(_message.Message):
    __slots__ = ("update_proofs", "past_marker_vrf_proofs", "existence_of_past_marker_proofs", "future_marker_vrf_proofs", "non_existence_of_future_marker_proofs")
    UPDATE_PROOFS_FIELD_NUMBER: _ClassVar[int]
    PAST_MARKER_VRF_PROOFS_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_OF_PAST_MARKER_PROOFS_FIELD_NUMBER: _ClassVar[int]
    FUTURE_MARKER_VRF_PROOFS_FIELD_NUMBER: _ClassVar[int]
    NON_EXISTENCE_OF_FUTURE_MARKER_PROOFS_FIELD_NUMBER: _ClassVar[int]
    update_proofs: _containers.RepeatedCompositeFieldContainer[UpdateProof]
    past_marker_vrf_proofs: _containers.RepeatedScalarFieldContainer[bytes]
    existence_of_past_marker_proofs: _containers.RepeatedCompositeFieldContainer[MembershipProof]
    future_marker_vrf_proofs: _containers.RepeatedScalarFieldContainer[bytes]
    non_existence_of_future_marker_proofs: _containers.RepeatedCompositeFieldContainer[NonMembershipProof]
    def __init__(self, update_proofs: _Optional[_Iterable[_Union[UpdateProof, _Mapping]]] = ..., past_marker_vrf_proofs: _Optional[_Iterable[bytes]] = ..., existence_of_past_marker_proofs: _Optional[_Iterable[_Union[MembershipProof, _Mapping]]] = ..., future_marker_vrf_proofs: _Optional[_Iterable[bytes]] = ..., non_existence_of_future_marker_proofs: _Optional[_Iterable[_Union[NonMembershipProof, _Mapping]]] = ...) -> None: ...

class SingleAppendOnlyProof(_message.Message):
    __slots__ = ("inserted", "unchanged_nodes")
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_NODES_FIELD_NUMBER: _ClassVar[int]
    inserted: _containers.RepeatedCompositeFieldContainer[AzksElement]
    unchanged_nodes: _containers.RepeatedCompositeFieldContainer[AzksElement]
    def __init__(self, inserted: _Optional[_Iterable[_Union[AzksElement, _Mapping]]] = ..., unchanged_nodes: _Optional[_Iterable[_Union[AzksElement, _Mapping]]] = ...) -> None: ...

class AppendOnlyProof(_message.Message):
    __slots__ = ("proofs", "epochs")
    PROOFS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    proofs: _containers.RepeatedCompositeFieldContainer[SingleAppendOnlyProof]
    epochs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, proofs: _Optional[_Iterable[_Union[SingleAppendOnlyProof, _Mapping]]] = ..., epochs: _Optional[_Iterable[int]] = ...) -> None: ...
